"""Start-up: from Settings to the loaded ``WebhookSecrets`` the pure webhook readers verify with.

Called once, before the port is bound (like ``Settings.from_env``): it reads the pinned SNS
certificate files and parses the SendGrid key, and a malformed one stops the process with a
``ConfigError`` naming the variable, never the secret's value. After start-up nothing reads
files or the environment; ``webhooks.read_webhook`` gets the result passed in.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from validator.bounces.webhooks.signing import BasicCredentials, WebhookSecrets
from validator.config import Settings
from validator.errors import ConfigError


def load_webhook_secrets(
    settings: Settings,
    *,
    read: Callable[[str], bytes] = lambda path: Path(path).read_bytes(),
    now: datetime | None = None,
) -> WebhookSecrets:
    """The secrets of every configured provider; ``ConfigError`` naming the variable if one is unusable."""
    return WebhookSecrets(
        ses_certificates=_sns_certificates(settings.ses_signing_certs, read, now or datetime.now(UTC)),
        ses_topic_arns=frozenset(settings.ses_topic_arns),
        sendgrid_public_key=_sendgrid_key(settings.sendgrid_verification_key),
        mailgun_signing_key=settings.mailgun_signing_key.encode() if settings.mailgun_signing_key else None,
        postmark=_basic(settings.postmark_webhook_user, settings.postmark_webhook_password),
        sparkpost=_basic(settings.sparkpost_webhook_user, settings.sparkpost_webhook_password),
        mailjet=_basic(settings.mailjet_webhook_user, settings.mailjet_webhook_password),
        resend_signing_key=_svix_key(settings.resend_signing_secret),
        max_age=timedelta(seconds=settings.webhook_max_age),
    )


def _svix_key(secret: str) -> bytes | None:
    """The key bytes of a Svix signing secret (``whsec_<base64>``, as Resend shows it)."""
    if not secret:
        return None
    variable = "VALIDATOR_RESEND_SIGNING_SECRET"
    try:
        key = base64.b64decode(secret.strip().removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{variable}: not a signing secret (whsec_ followed by base64)", field=variable) from exc
    if len(key) < 16:
        raise ConfigError(f"{variable}: the secret is too short to be a signing secret", field=variable)
    return key


def _basic(user: str, password: str) -> BasicCredentials | None:
    return BasicCredentials(user, password) if user else None  # Settings checked that both or neither are set


def _sns_certificates(
    paths: tuple[str, ...], read: Callable[[str], bytes], now: datetime
) -> tuple[x509.Certificate, ...]:
    variable = "VALIDATOR_SES_SIGNING_CERTS"
    found: list[x509.Certificate] = []
    for path in paths:
        try:
            data = read(path)
        except OSError as exc:
            raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror}", field=variable) from exc
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise ConfigError(f"{variable}: {path} holds no PEM certificate", field=variable) from exc
        for certificate in certificates:
            if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
                raise ConfigError(
                    f"{variable}: a certificate in {path} has no RSA key (SNS signs with RSA)", field=variable
                )
        found.extend(certificates)
    if found and all(c.not_valid_after_utc < now for c in found):
        raise ConfigError(
            f"{variable}: every pinned certificate has expired; pin the current SNS certificate", field=variable
        )
    return tuple(found)


def _sendgrid_key(text: str) -> ec.EllipticCurvePublicKey | None:
    """SendGrid shows the key as base64 DER (SubjectPublicKeyInfo) without PEM framing; PEM is accepted too."""
    variable = "VALIDATOR_SENDGRID_VERIFICATION_KEY"
    if not text.strip():
        return None
    try:
        if "-----BEGIN" in text:
            key = load_pem_public_key(text.strip().encode())
        else:
            key = load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:  # the message would not name the value, but be sure
        raise ConfigError(f"{variable} is not a base64 DER or PEM public key", field=variable) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError(f"{variable} must be an EC P-256 key (SendGrid signs with ECDSA P-256)", field=variable)
    return key
