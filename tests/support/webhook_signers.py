"""Test-only signers: each makes a request exactly as its provider does, with keys made here.

No network: the SNS certificate is self-signed in the test and pinned, as an operator pins
the one downloaded from SigningCertURL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from validator.bounces.webhooks.signing import BasicCredentials, WebhookSecrets, sns_string_to_sign

NOW = datetime(2026, 3, 15, 8, 42, 11, tzinfo=UTC)
TOPIC = "arn:aws:sns:us-west-2:123456789012:ses-bounces"
MAILGUN_KEY = b"key-test-mailgun-signing-0123456789"
POSTMARK = BasicCredentials("postmark", "correct horse battery staple")
SPARKPOST = BasicCredentials("sparkpost", "tr0ub4dor&3 but longer")
MAILJET = BasicCredentials("mailjet", "a password Mailjet sends in the URL")
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-signing-key-for-the-tests").decode()
RESEND_KEY = b"resend-signing-key-for-the-tests"


def rsa_certificate(
    key: rsa.RSAPrivateKey,
    *,
    valid_from: datetime = NOW - timedelta(days=30),
    valid_to: datetime = NOW + timedelta(days=30),
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-west-2.amazonaws.com")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class Keys:
    sns: rsa.RSAPrivateKey
    sns_certificate: x509.Certificate
    sendgrid: ec.EllipticCurvePrivateKey

    def secrets(self, **overrides: Any) -> WebhookSecrets:
        values: dict[str, Any] = {
            "ses_certificates": (self.sns_certificate,),
            "ses_topic_arns": frozenset({TOPIC}),
            "sendgrid_public_key": self.sendgrid.public_key(),
            "mailgun_signing_key": MAILGUN_KEY,
            "postmark": POSTMARK,
            "sparkpost": SPARKPOST,
            "mailjet": MAILJET,
            "resend_signing_key": RESEND_KEY,
            "max_age": timedelta(minutes=10),
        }
        return WebhookSecrets(**{**values, **overrides})

    def sendgrid_key_text(self) -> str:
        """The verification key as SendGrid's settings page shows it: base64 DER, no PEM framing."""
        der = self.sendgrid.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()


def make_keys() -> Keys:
    sns = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Keys(sns, rsa_certificate(sns), ec.generate_private_key(ec.SECP256R1()))


def sns_envelope(
    key: rsa.RSAPrivateKey,
    message: Any,
    *,
    kind: str = "Notification",
    version: str = "1",
    topic: str = TOPIC,
    at: datetime = NOW,
    subject: str | None = "Amazon SES Email Event Notification",
    subscribe_url: str | None = None,
) -> dict[str, Any]:
    """An SNS HTTP(S) delivery, signed as SNS signs it (SHA1withRSA for version 1, SHA256withRSA for 2)."""
    envelope: dict[str, Any] = {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "TopicArn": topic,
        "Message": message if isinstance(message, str) else orjson.dumps(message).decode(),
        "Timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "SignatureVersion": version,
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-0000.pem",
    }
    if kind == "Notification":
        if subject is not None:
            envelope["Subject"] = subject
        envelope["UnsubscribeURL"] = "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x"
    else:
        envelope["Token"] = (
            "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b"
        )
        envelope["SubscribeURL"] = (
            subscribe_url
            or f"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}&Token=2336"
        )
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(sns_string_to_sign(envelope), padding.PKCS1v15(), algorithm)
    envelope["Signature"] = base64.b64encode(signature).decode()
    return envelope


def sendgrid_headers(key: ec.EllipticCurvePrivateKey, body: bytes, at: datetime = NOW) -> dict[str, str]:
    """SendGrid's Signed Event Webhook: ECDSA P-256/SHA-256 over timestamp + body, base64 DER signature."""
    stamp = str(int(at.timestamp()))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def mailgun_body(
    event_data: dict[str, Any],
    *,
    key: bytes = MAILGUN_KEY,
    at: datetime = NOW,
    token: str = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123",
) -> bytes:
    """Mailgun's JSON webhook: hex HMAC-SHA256(signing key, timestamp + token) in the body."""
    stamp = str(int(at.timestamp()))
    signature = hmac.new(key, (stamp + token).encode(), hashlib.sha256).hexdigest()
    return orjson.dumps(
        {"signature": {"timestamp": stamp, "token": token, "signature": signature}, "event-data": event_data}
    )


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def svix_headers(
    body: bytes, key: bytes = RESEND_KEY, at: datetime = NOW, message_id: str = "msg_2Kx9"
) -> dict[str, str]:
    """Headers as Svix (Resend) signs a request: base64 HMAC-SHA256 of ``id.timestamp.body``."""
    stamp = str(int(at.timestamp()))
    digest = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"svix-id": message_id, "svix-timestamp": stamp, "svix-signature": "v1," + base64.b64encode(digest).decode()}
