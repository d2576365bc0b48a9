"""How each provider proves a webhook request is its own, and the checks that refuse the rest.

- **Amazon SNS** (SES notifications): an RSA signature (``SignatureVersion`` 1 = SHA1withRSA,
  2 = SHA256withRSA, PKCS#1 v1.5) over "name\\nvalue\\n" pairs of the envelope's fields in byte
  order: Notification signs Message, MessageId, Subject (if present), Timestamp, TopicArn, Type;
  SubscriptionConfirmation and UnsubscribeConfirmation sign Message, MessageId, SubscribeURL,
  Timestamp, Token, TopicArn, Type. We verify against the operator's **pinned** certificates and
  never fetch ``SigningCertURL``. A valid SNS signature proves only that *some* SNS topic sent it:
  anyone can subscribe our URL to a topic of theirs, so the ``TopicArn`` must be one the operator
  allowed (AWS: "reject any message with an unexpected TopicArn").
- **SendGrid** (Signed Event Webhook): ECDSA P-256 with SHA-256 over the
  ``X-Twilio-Email-Event-Webhook-Timestamp`` header's text followed by the raw body; the
  signature is base64 DER in ``X-Twilio-Email-Event-Webhook-Signature``.
- **Mailgun**: hex HMAC-SHA256 keyed with the webhook signing key over ``timestamp + token``, in
  the body's ``signature`` object; a subaccount's event also carries ``parent-signature``
  (the primary account's key), accepted as well.
- **Postmark**, **SparkPost** and **Mailjet** do not sign: the operator sets HTTP Basic credentials in
  the provider's webhook settings (Postmark, Mailjet: in the URL; SparkPost: ``auth_type: basic``) and we
  compare ``Authorization: Basic`` with them in constant time. No signed time, so no age check.

- **Resend** signs with Svix's scheme: a base64 HMAC-SHA256, keyed with the ``whsec_`` secret's
  bytes, over ``svix-id.svix-timestamp.body``; ``svix-signature`` lists ``v1,<signature>`` entries
  (several while a secret is rotated), any of which may match.

Every signed time (SNS ``Timestamp``, SendGrid's header, Mailgun's ``timestamp``, ``svix-timestamp``) must lie within
``max_age`` of ``now``, either way, to bound replays; a replay inside the window is harmless
because ingestion is idempotent on event ids. Errors say what failed, never a key. Pure: keys
arrive loaded (``bounces.webhook_keys.load_webhook_secrets``), the clock arrives as ``now``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from validator.bounces.payload import epoch_time, iso_time
from validator.errors import InvalidSignature, WebhookNotConfigured

SENDGRID_SIGNATURE = "x-twilio-email-event-webhook-signature"
SENDGRID_TIMESTAMP = "x-twilio-email-event-webhook-timestamp"
_SNS_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_SNS_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SNS_TYPES = {
    "Notification": _SNS_NOTIFICATION,
    "SubscriptionConfirmation": _SNS_CONFIRMATION,
    "UnsubscribeConfirmation": _SNS_CONFIRMATION,
}
_SNS_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    """HTTP Basic credentials a provider that does not sign sends with each request."""

    user: str = field(repr=False)
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    """What verification needs, loaded once at start-up; a provider left None is not configured.

    ``repr`` shows which providers are configured, never a key.
    """

    ses_certificates: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    ses_topic_arns: frozenset[str] = frozenset()
    sendgrid_public_key: ec.EllipticCurvePublicKey | None = field(default=None, repr=False)
    mailgun_signing_key: bytes | None = field(default=None, repr=False)
    postmark: BasicCredentials | None = field(default=None, repr=False)
    sparkpost: BasicCredentials | None = field(default=None, repr=False)
    mailjet: BasicCredentials | None = field(default=None, repr=False)
    resend_signing_key: bytes | None = field(default=None, repr=False)
    max_age: timedelta = timedelta(hours=1)

    def basic(self, provider: str) -> BasicCredentials | None:
        """The HTTP Basic credentials of a provider that does not sign its requests."""
        return {"postmark": self.postmark, "sparkpost": self.sparkpost, "mailjet": self.mailjet}.get(provider)

    def configured(self, provider: str) -> bool:
        return {
            "ses": bool(self.ses_certificates) and bool(self.ses_topic_arns),
            "sendgrid": self.sendgrid_public_key is not None,
            "mailgun": self.mailgun_signing_key is not None,
            "resend": self.resend_signing_key is not None,
        }.get(provider, self.basic(provider) is not None)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names compare case-insensitively (RFC 9110 §5.1), whatever mapping the caller has."""
    return {str(name).lower(): str(value) for name, value in headers.items()}


def check_fresh(signed_at: datetime | None, now: datetime, max_age: timedelta, what: str) -> None:
    if signed_at is None:
        raise InvalidSignature(f"{what} is missing or not a time")
    if abs(now.astimezone(UTC) - signed_at) > max_age:
        raise InvalidSignature(
            f"{what} is more than {int(max_age.total_seconds())} s from now: refused as a possible replay"
        )


def verify_sns(envelope: dict[str, Any], secrets: WebhookSecrets, now: datetime) -> None:
    """Refuse an SNS envelope not signed by a pinned certificate, from another topic, or stale."""
    kind = envelope.get("Type")
    if not isinstance(kind, str) or kind not in SNS_TYPES:
        raise InvalidSignature(
            "not an SNS message: Type must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation"
        )
    algorithm = _SNS_HASHES.get(str(envelope.get("SignatureVersion")))
    if algorithm is None:
        raise InvalidSignature("SignatureVersion must be 1 (SHA1withRSA) or 2 (SHA256withRSA)")
    signature = _b64(envelope.get("Signature"), "Signature")
    topic = envelope.get("TopicArn")
    if not isinstance(topic, str) or topic not in secrets.ses_topic_arns:
        raise InvalidSignature("TopicArn is not one of the allowed topics (VALIDATOR_SES_TOPIC_ARNS)")
    signed = sns_string_to_sign(envelope)
    for certificate in secrets.ses_certificates:
        if not certificate.not_valid_before_utc <= now.astimezone(UTC) <= certificate.not_valid_after_utc:
            continue
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(signature, signed, padding.PKCS1v15(), algorithm())
        except CryptoInvalidSignature:
            continue
        check_fresh(iso_time(envelope, "Timestamp"), now, secrets.max_age, "SNS Timestamp")
        return
    raise InvalidSignature("SNS signature does not verify with any pinned certificate valid now")


def sns_string_to_sign(envelope: dict[str, Any]) -> bytes:
    """The bytes SNS signs; a required field missing or not a string refuses the message."""
    names = SNS_TYPES[str(envelope.get("Type"))]
    pieces = []
    for name in names:
        value = envelope.get(name)
        if value is None and name == "Subject":  # optional, and signed only when present
            continue
        if not isinstance(value, str):
            raise InvalidSignature(f"SNS field {name} is missing or not a string")
        pieces.append(f"{name}\n{value}\n")
    return _utf8("".join(pieces))


def verify_sendgrid(headers: dict[str, str], body: bytes, secrets: WebhookSecrets, now: datetime) -> None:
    key = secrets.sendgrid_public_key
    if key is None:
        raise WebhookNotConfigured("the sendgrid webhook is not configured", field="provider")
    stamp = headers.get(SENDGRID_TIMESTAMP)
    if stamp is None or SENDGRID_SIGNATURE not in headers:
        raise InvalidSignature("unsigned: send X-Twilio-Email-Event-Webhook-Signature and -Timestamp")
    signature = _b64(headers[SENDGRID_SIGNATURE], "X-Twilio-Email-Event-Webhook-Signature")
    try:
        key.verify(signature, _utf8(stamp) + body, ec.ECDSA(hashes.SHA256()))
    except CryptoInvalidSignature as exc:
        raise InvalidSignature("SendGrid signature does not verify with the configured public key") from exc
    check_fresh(epoch_time({"t": stamp.strip()}, "t"), now, secrets.max_age, "X-Twilio-Email-Event-Webhook-Timestamp")


def verify_mailgun(payload: Any, secrets: WebhookSecrets, now: datetime) -> str:
    """Refuse a Mailgun event whose ``signature`` object does not verify; answer its token (a replay key)."""
    key = secrets.mailgun_signing_key
    if key is None:
        raise WebhookNotConfigured("the mailgun webhook is not configured", field="provider")
    signed = payload.get("signature") if isinstance(payload, dict) else None
    if not isinstance(signed, dict):
        raise InvalidSignature("unsigned: the body has no signature object")
    timestamp, token = signed.get("timestamp"), signed.get("token")
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not isinstance(timestamp, str) or not isinstance(token, str):
        raise InvalidSignature("signature.timestamp and signature.token must be present")
    expected = hmac.new(key, _utf8(timestamp + token), hashlib.sha256).hexdigest().encode()
    given = [signed.get(name) for name in ("signature", "parent-signature")]
    if not any(isinstance(g, str) and hmac.compare_digest(expected, _utf8(g.lower())) for g in given):
        raise InvalidSignature("Mailgun signature does not verify with the configured signing key")
    check_fresh(epoch_time({"t": timestamp}, "t"), now, secrets.max_age, "signature.timestamp")
    return token


def verify_svix(headers: dict[str, str], body: bytes, secrets: WebhookSecrets, now: datetime) -> str:
    """Refuse a Resend (Svix-signed) request whose signature does not verify; answer its ``svix-id``,
    the same on every retry of one event (a replay key)."""
    key = secrets.resend_signing_key
    if key is None:
        raise WebhookNotConfigured("the resend webhook is not configured", field="provider")
    message_id, stamp, listed = (headers.get(f"svix-{name}", "").strip() for name in ("id", "timestamp", "signature"))
    if not (message_id and stamp and listed):
        raise InvalidSignature("unsigned: send svix-id, svix-timestamp and svix-signature")
    digest = hmac.new(key, _utf8(f"{message_id}.{stamp}.") + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    given = [entry[3:] for entry in listed.split() if entry.startswith("v1,")]
    if not any(hmac.compare_digest(expected, _utf8(g)) for g in given):
        raise InvalidSignature("Resend signature does not verify with the configured signing secret")
    check_fresh(epoch_time({"t": stamp}, "t"), now, secrets.max_age, "svix-timestamp")
    return message_id


def verify_basic(headers: dict[str, str], credentials: BasicCredentials | None, provider: str) -> None:
    """``Authorization: Basic`` equal to ``credentials`` (Postmark's, SparkPost's, Mailjet's), in constant time."""
    if credentials is None:
        raise WebhookNotConfigured(f"the {provider} webhook is not configured", field="provider")
    scheme, _, encoded = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise InvalidSignature(f"unsigned: {provider} webhooks must carry the configured HTTP Basic credentials")
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except ValueError as exc:  # binascii.Error, and ValueError for a header that is not ASCII
        raise InvalidSignature("the Basic credentials are not valid base64") from exc
    expected = f"{credentials.user}:{credentials.password}".encode()
    if not hmac.compare_digest(given, expected):  # one comparison over both parts: no early exit on the user
        raise InvalidSignature("the Basic credentials do not match the configured ones")


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.strip():
        raise InvalidSignature(f"unsigned: {what} is missing")
    try:
        return base64.b64decode(value.strip(), validate=True)
    except ValueError as exc:  # binascii.Error, and ValueError for a non-ASCII string
        raise InvalidSignature(f"{what} is not valid base64") from exc


def _utf8(text: str) -> bytes:
    """UTF-8 of text from a header or JSON; a lone surrogate cannot have been signed."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidSignature("signed text is not valid Unicode") from exc
