"""The parts of an SMTP reply other than its words: what its enhanced status code and its command say.

``STATUS_REASONS`` maps an RFC 3463 subject.detail to the reason it names, for ``classify.reason_of`` to
use when the words gave no better answer; ``smtp_command`` finds which SMTP command a quoted reply
answered from the words MTAs wrap it in ("in reply to RCPT TO command"), since a refusal after MAIL
FROM is the sender's and one after RCPT TO the recipient's. Pure: text in, values out.
"""

from __future__ import annotations

import re

from validator.bounces.facts import BounceReason

# RFC 3463 §3.x subject.detail → reason, used when the text gave no better answer.
STATUS_REASONS = {
    "1.0": BounceReason.USERUNKNOWN,  # X.1.0 other address status (Sisimai's standard map)
    "1.2": BounceReason.HOSTUNKNOWN,  # X.1.2 bad destination system address
    "1.3": BounceReason.USERUNKNOWN,  # X.1.3 bad destination mailbox address syntax
    "1.6": BounceReason.HASMOVED,  # X.1.6 destination mailbox has moved, no forwarding address
    "2.3": BounceReason.EXCEEDLIMIT,  # X.2.3 message length exceeds administrative limit
    "2.4": BounceReason.FILTERED,  # X.2.4 mailing list expansion problem
    "3.0": BounceReason.SYSTEMERROR,  # X.3.0 other or undefined mail system status
    "3.1": BounceReason.SYSTEMFULL,  # X.3.1 mail system full
    "3.2": BounceReason.NOTACCEPT,  # X.3.2 system not accepting network messages
    "3.4": BounceReason.MESGTOOBIG,  # X.3.4 message too big for system
    "3.5": BounceReason.SYSTEMERROR,  # X.3.5 system incorrectly configured
    "4.6": BounceReason.NETWORKERROR,  # X.4.6 routing loop detected
    "4.7": BounceReason.EXPIRED,  # X.4.7 delivery time expired
    "5.3": BounceReason.SYNTAXERROR,  # X.5.3 too many recipients... treated by servers as protocol trouble
    "6.0": BounceReason.CONTENTERROR,  # X.6.x media and content
    "7.0": BounceReason.SECURITYERROR,
    "7.1": BounceReason.POLICYVIOLATION,  # X.7.1 delivery not authorized: the text decides, see _SENDER
    "7.10": BounceReason.FAILEDSTARTTLS,  # RFC 5248: encryption needed
    "7.13": BounceReason.SUSPEND,  # RFC 5248: user account disabled
    "7.17": BounceReason.HASMOVED,  # RFC 5248: mailbox owner has changed
    "7.18": BounceReason.HASMOVED,  # RFC 5248: domain owner has changed
    "7.23": BounceReason.AUTHFAILURE,  # RFC 7372: SPF validation failed
    "7.24": BounceReason.AUTHFAILURE,  # RFC 7372: SPF validation error
    "7.25": BounceReason.REQUIREPTR,  # RFC 7372: reverse DNS validation failed
    "7.26": BounceReason.AUTHFAILURE,  # RFC 7372: multiple authentication checks failed
    "7.27": BounceReason.REJECTED,  # RFC 7505 §4.2: sender address has null MX: the sender's, not the recipient's
    "7.28": BounceReason.SPAMDETECTED,  # RFC 8098 registry: mail flood detected
}

# Which SMTP command a reply answered, from the words MTAs wrap it in, or from the command itself quoted in its
# RFC 5321 §4.1.1.2-3 form ("MAIL FROM:<reverse-path>", "RCPT TO:<forward-path>"), whichever MTA's wrapper is
# around it: Exim "SMTP error from remote mail server after MAIL FROM:<x> SIZE=1022: 553 5.1.0 ...", Sendmail's
# transcript ">>> MAIL From:<x> SIZE=10485761".
_COMMANDS = (
    # Postfix "(in reply to RCPT TO command)"; Exim "after RCPT TO:<x>"; DragonFly "did not like our RCPT TO";
    # Sendmail transcript ">>> RCPT To:<x>"
    # m-FILTER: "-------SMTP command DATA"
    (
        re.compile(
            r"in reply to end of data|after end of data|final data|\(data\)|in reply to data|>>> data|smtp command data"
        ),
        "DATA",
    ),
    # X.400 gateways: "Technical details: SMTP:RCPT host 192.0.2.8: 553 5.3.0 ..."
    (re.compile(r"in reply to rcpt to|rcpt to: ?<|our rcpt to|smtp:rcpt"), "RCPT"),
    (re.compile(r"in reply to mail from|mail from: ?<|our mail from"), "MAIL"),
    (
        re.compile(r"after initial connection|in reply to (?:ehlo|helo)|after (?:ehlo|helo)|refused to talk to me"),
        "CONN",
    ),
)


def smtp_command(text: str) -> str | None:
    """The SMTP command a quoted reply answered (DATA, RCPT, MAIL, CONN), when the wrapper says."""
    folded = text.casefold()
    found = [(m.start(), command) for pattern, command in _COMMANDS for m in [pattern.search(folded)] if m]
    return min(found)[1] if found else None
