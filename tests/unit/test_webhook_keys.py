"""load_webhook_secrets: Settings → loaded keys at start-up; a bad key stops start-up naming its variable."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.webhook_signers import (
    MAILGUN_KEY,
    MAILJET,
    NOW,
    POSTMARK,
    RESEND_KEY,
    RESEND_SECRET,
    SPARKPOST,
    TOPIC,
    Keys,
    make_keys,
    rsa_certificate,
    sendgrid_headers,
    sns_envelope,
)
from validator.bounces.webhooks import read_webhook
from validator.bounces.webhooks.secrets import load_webhook_secrets
from validator.config import Settings
from validator.errors import ConfigError


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


def _settings(**env: str) -> Settings:
    return Settings.from_env({f"VALIDATOR_{k.upper()}": v for k, v in env.items()})


def _pem(keys: Keys, tmp_path: Path) -> str:
    path = tmp_path / "sns.pem"
    path.write_bytes(keys.sns_certificate.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_nothing_configured_loads_nothing() -> None:
    secrets = load_webhook_secrets(Settings())
    assert not any(
        secrets.configured(p) for p in ("ses", "sendgrid", "mailgun", "postmark", "sparkpost", "mailjet", "resend")
    )


def test_loaded_secrets_verify_real_signatures(keys: Keys, tmp_path: Path) -> None:
    settings = _settings(
        ses_signing_certs=_pem(keys, tmp_path),
        ses_topic_arns=TOPIC,
        sendgrid_verification_key=keys.sendgrid_key_text(),
        mailgun_signing_key=MAILGUN_KEY.decode(),
        postmark_webhook_user=POSTMARK.user,
        postmark_webhook_password=POSTMARK.password,
        sparkpost_webhook_user=SPARKPOST.user,
        sparkpost_webhook_password=SPARKPOST.password,
        mailjet_webhook_user=MAILJET.user,
        mailjet_webhook_password=MAILJET.password,
        resend_signing_secret=RESEND_SECRET,
        webhook_max_age="300",
    )
    secrets = load_webhook_secrets(settings, now=NOW)
    assert all(
        secrets.configured(p) for p in ("ses", "sendgrid", "mailgun", "postmark", "sparkpost", "mailjet", "resend")
    )
    assert (secrets.postmark, secrets.sparkpost, secrets.mailjet) == (POSTMARK, SPARKPOST, MAILJET)
    assert secrets.resend_signing_key == RESEND_KEY
    assert secrets.max_age == timedelta(seconds=300)
    body = orjson.dumps([{"email": "a@example.com", "event": "delivered", "timestamp": 1}])
    assert read_webhook("sendgrid", sendgrid_headers(keys.sendgrid, body), body, secrets, NOW).facts
    envelope = sns_envelope(
        keys.sns, {"notificationType": "Delivery", "mail": {}, "delivery": {"recipients": ["a@example.com"]}}
    )
    assert read_webhook("ses", {}, orjson.dumps(envelope), secrets, NOW).facts


def test_sendgrid_key_may_be_pem(keys: Keys) -> None:
    pem = (
        keys.sendgrid.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert load_webhook_secrets(_settings(sendgrid_verification_key=pem)).configured("sendgrid")


@pytest.mark.parametrize(
    "value",
    ["not base64 at all!", "aGVsbG8gd29ybGQ=", "P-384"],
    ids=["not-base64", "not-a-key", "wrong-curve"],
)
def test_malformed_sendgrid_key_stops_start_up_without_echoing_it(value: str) -> None:
    if value == "P-384":  # a real EC key, on a curve SendGrid does not use
        der = (
            ec.generate_private_key(ec.SECP384R1())
            .public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        value = base64.b64encode(der).decode()
    with pytest.raises(ConfigError) as caught:
        load_webhook_secrets(_settings(sendgrid_verification_key=value))
    assert caught.value.field == "VALIDATOR_SENDGRID_VERIFICATION_KEY" and value not in caught.value.message


def test_unreadable_or_malformed_certificate_file_names_the_variable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    for path in (str(tmp_path / "missing.pem"), str(junk)):
        with pytest.raises(ConfigError) as caught:
            load_webhook_secrets(_settings(ses_signing_certs=path, ses_topic_arns=TOPIC))
        assert caught.value.field == "VALIDATOR_SES_SIGNING_CERTS"


def test_all_pinned_certificates_expired_stops_start_up(keys: Keys, tmp_path: Path) -> None:
    path = tmp_path / "old.pem"
    old = rsa_certificate(keys.sns, valid_from=NOW - timedelta(days=400), valid_to=NOW - timedelta(days=1))
    path.write_bytes(old.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ConfigError, match="expired"):
        load_webhook_secrets(_settings(ses_signing_certs=str(path), ses_topic_arns=TOPIC), now=NOW)


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"ses_signing_certs": "/etc/sns.pem"}, "VALIDATOR_SES_TOPIC_ARNS"),
        ({"ses_topic_arns": TOPIC}, "VALIDATOR_SES_SIGNING_CERTS"),
        ({"postmark_webhook_user": "u"}, "VALIDATOR_POSTMARK_WEBHOOK_PASSWORD"),
        ({"sparkpost_webhook_password": "p"}, "VALIDATOR_SPARKPOST_WEBHOOK_USER"),
        ({"mailjet_webhook_user": "u"}, "VALIDATOR_MAILJET_WEBHOOK_PASSWORD"),
    ],
)
def test_half_a_pair_is_a_config_error(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(**env)
    assert caught.value.field == missing


def test_secret_settings_stay_out_of_repr() -> None:
    settings = _settings(
        mailgun_signing_key="mg-secret-value", postmark_webhook_user="pm-user", postmark_webhook_password="pm-secret"
    )
    assert "mg-secret-value" not in repr(settings) and "pm-secret" not in repr(settings)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_c2hvcnQ="])  # not base64; 5 bytes
def test_a_malformed_resend_secret_stops_the_start_naming_the_variable(secret: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_webhook_secrets(_settings(resend_signing_secret=secret))
    assert caught.value.field == "VALIDATOR_RESEND_SIGNING_SECRET" and secret not in caught.value.message
