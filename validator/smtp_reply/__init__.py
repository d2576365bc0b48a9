"""Reading SMTP replies: one parser (``parse``) and one classifier (``classify``), shared by the
prober and the bounce reader. Both are pure and total: no sockets, no asyncio, no logging, and
no input makes them raise; this package is their one public face."""

from validator.smtp_reply.classify import (
    ReplyClass,
    classify_reply,
    read_mailbox_words,
    refuses_more_recipients,
    says_too_many_errors,
)
from validator.smtp_reply.parse import Reply, parse_reply

__all__ = [
    "Reply",
    "ReplyClass",
    "classify_reply",
    "parse_reply",
    "read_mailbox_words",
    "refuses_more_recipients",
    "says_too_many_errors",
]
