"""A reviewer's reading of every corpus label the scoring overrules, so the headline figures can be audited.

``bounce_agreement.score_ours`` counts a row labelled soft as hard when its reply says in so many words
that the mailbox does not exist. Each such row is reviewed here against its whole message (command
answered, status, the recipient's local part, the reporter's notice) and given one verdict:

- ``plain``: the words say the mailbox does not exist and nothing in the message says otherwise;
- ``carrier_filter``: the words say "user unknown", but the reply answered DATA at a Japanese mobile
  carrier, whose reception filters answered so: Sisimai's ``Rhost::NTTDOCOMO`` reads docomo's "550
  Unknown user" under Status 5.2.0 as ``filtered`` and notes that since 2025-03-12 docomo no longer
  rejects filtered mail over SMTP, so the same reply now means ``userunknown``; au (KDDI) answered
  "550 : User unknown" to DATA alike. Overruling follows today's meaning; the label was right for its day;
- ``weak``: the status says otherwise (RFC 3463 X.2.1: mailbox disabled) or the reply names another address.

Nothing here feeds a rule: it is scoring metadata, read by the bench and held complete by a test.
"""

from __future__ import annotations

PLAIN, CARRIER_FILTER, WEAK = "plain", "carrier_filter", "weak"

REVIEW: dict[str, tuple[str, str]] = {
    "emails/lhost-activehunter-02.eml": (
        PLAIN,
        "Postfix 'Recipient address rejected: User unknown in local recipient table': not a local recipient",
    ),
    "emails/lhost-amazonses-02.eml": (PLAIN, "'Unknown user' for a local part named this-local-part-does-not-exist"),
    "emails/lhost-postfix-07.eml": (PLAIN, "'550 <x>: User unknown', no command named"),
    "emails/lhost-sendmail-27.eml": (
        PLAIN,
        "answered to DATA, but the transcript also has '550 5.1.1 <x>... User unknown' and the local part is "
        "this-local-part-does-not-exist-on-the-system",
    ),
    "emails/lhost-surfcontrol-01.eml": (PLAIN, "'550 x... No such user'"),
    "emails/lhost-x1-01.eml": (PLAIN, "'[User unknown]' under 'Returned Mail: User unknown'"),
    "emails/lhost-x1-02.eml": (PLAIN, "'[User unknown]' under 'Returned Mail: User unknown'"),
    "emails/lhost-yahoo-06.eml": (PLAIN, "'550 : User unknown' for an invented local part at ezweb.ne.jp"),
    "emails/rfc3464-57.eml": (PLAIN, "Gmail's notice 'Address not found' above '550 : User unknown' (same address)"),
    "emails/lhost-zoho-03.eml": (PLAIN, "'Invalid Address, ERROR_CODE :550 ... mailbox unavailable'"),
    "emails/rfc3464-01.eml": (
        PLAIN,
        "label mailboxfull on Status 5.1.1 '550 5.1.1 <userunknown@...>... User Unknown'",
    ),
    "emails/rfc3464-35.eml": (PLAIN, "'550 user unknown' under Status 5.0.0, no command named"),
    "emails/rfc3464-42.eml": (PLAIN, "Gmail's 'The email account that you tried to reach does not exist.'"),
    "emails/rhost-nttdocomo-01.eml": (CARRIER_FILTER, "docomo '550 Unknown user x' to DATA, Status 5.2.0"),
    "emails/lhost-sendmail-19.eml": (CARRIER_FILTER, "docomo-style '550 Unknown user x' to DATA, Status 5.2.0"),
    "emails/lhost-sendmail-40.eml": (CARRIER_FILTER, "docomo-style '550 Unknown user x' to DATA, Status 5.2.0"),
    "emails/lhost-postfix-03.eml": (CARRIER_FILTER, "docomo-style '550 Unknown user x (in reply to end of DATA)'"),
    "emails/lhost-postfix-35.eml": (CARRIER_FILTER, "au-style '550 : User unknown (in reply to end of DATA)'"),
    "emails/lhost-sendmail-50.eml": (CARRIER_FILTER, "au-style '550 : User unknown' to DATA, Status 5.2.0"),
    "emails/lhost-sendmail-51.eml": (CARRIER_FILTER, "au-style '550 : User unknown' to DATA, Status 5.2.0"),
    "emails/lhost-mfilter-01.eml": (CARRIER_FILTER, "m-FILTER report: '550 unknown user <x>' to the DATA command"),
    "emails/lhost-sendmail-02.eml": (
        WEAK,
        "'550 5.2.1 <filtered@...>... User Unknown' to DATA: X.2.1 says disabled; the local part names the case",
    ),
    "emails/lhost-amazonworkmail-02.eml": (
        WEAK,
        "'550 5.2.1 <filtered@example.jp>... User Unknown' for recipient sabineko@: another address, X.2.1",
    ),
}


def arguable() -> frozenset[str]:
    """The overruled rows whose label a careful reader could keep."""
    return frozenset(file for file, (verdict, _) in REVIEW.items() if verdict != PLAIN)
