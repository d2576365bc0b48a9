"""Text that names a bounce's reason whatever its code says (a DMARC or content verdict, a
policy block), first match wins; each rule with the real reply that motivated it. Read by
``classify.py``; a table of its own so the rules and their evidence can be read in one place."""

from __future__ import annotations

import re

from validator.bounces.facts import BounceReason

DECISIVE = (
    # Gmail: "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy";
    # Gmail: "550-5.7.26 The MAIL FROM domain [x] has an SPF record with a hard fail policy (-all) ..."
    (re.compile(r"\bspf\b|\bdkim\b|\bdmarc\b|unauthenticated e-?mail from"), BounceReason.AUTHFAILURE),
    # Yahoo: "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints";
    # Gmail: "550-5.7.1 ... likely suspicious due to the very low reputation of the sending IP address"
    (re.compile(r"reputation|user complaints|\[tss?\d\d\]"), BounceReason.BADREPUTATION),
    # Sendmail: "552 5.2.2 <x>... Mailbox Full"; MailFoundry (with Status: 5.1.1): "552 sorry, mailbox x is over quota";
    # au one net: "As their mailbox is full."; Gmail: "Storage quota exceeded"; Biglobe: "The number of messages in
    # recipient's mailbox exceeded the local limit."; "The e-mail message could not be delivered because the user's
    # mailfolder is full."; qmail-ldap: "This account is over quota."
    (
        re.compile(
            r"mailbox (?:is )?full|mail ?folder is full|over ?quota|quota exceeded|exceeded (?:\w+ )?(?:quota|storage)"
            r"|mailbox size limit|mailbox exceeded|insufficient (?:disk )?space|mailbox .{0,20}exceeded the local limit"
        ),
        BounceReason.MAILBOXFULL,
    ),
    # qmail: "Connected to 192.0.2.112 but my name was rejected." (then its usual "... in the queue too long");
    # Postfix: "host x refused to talk to me: 421 Service not available": our client was refused, not the address
    (re.compile(r"my name was rejected|refused to talk to me"), BounceReason.BLOCKED),
    # Exim: "retry timeout exceeded"; qmail: "this message has been in the queue too long"; DragonFly: "Could not
    # deliver for the last 432000 seconds. Giving up."; Office 365: "550 5.4.316 Message expired, connection refused";
    # Yahoo: "Unable to deliver message after multiple retries, giving up."
    # (qmail's "Giving up on 192.0.2.25." ends every permanent failure and says nothing of expiry)
    # Gmail, after days of retries: "The recipient server did not accept our requests to connect."
    # OpenSMTPD 6.8 (tests/data/mta-dsn): "someone@example.org: Envelope expired"
    (
        re.compile(
            r"retry timeout exceeded|in the queue too long|giving up(?! on)|(?:message|envelope) expired"
            r"|delivery time expired"
            r"|did not accept our requests to connect"
            r"|retry time (?:not reached|exceeded)|could not deliver for the last|after multiple retries"
        ),
        BounceReason.EXPIRED,
    ),
    # GoDaddy misuses X.1.1: "550 5.1.1 <x> - 192.0.2.1 has sent to too many recipients this hour. IB607"
    (re.compile(r"has sent (?:to )?too many"), BounceReason.SPEEDING),
    # "421 4.7.0 Error: too many connections from 192.0.2.1"; Postfix: "552 Too many recipients"
    (re.compile(r"too many (?:concurrent )?connections|too many recipients"), BounceReason.TOOMANYCONN),
    # Gmail: "550-5.7.1 This message is not RFC 5322 compliant. There are multiple Subject headers.";
    # Gmail: "550-5.7.1 Messages with multiple addresses in From: header are not accepted."
    (
        re.compile(r"not rfc ?(?:5322|2822|822) compliant|multiple (?:\S+ ){0,3}addresses in from|multiple subject"),
        BounceReason.NOTCOMPLIANTRFC,
    ),
    (re.compile(r"virus|malware|infected"), BounceReason.VIRUSDETECTED),  # "554 5.7.1 Virus found in message"
    # Amavis: "554 5.7.0 Reject, id=20025-09 - SPAM"; Barracuda: "550 5.7.1 Message content rejected, UBE, id=...";
    # "550 5.7.1 message content rejected"; Google Groups: "was rejected due to spam classification"
    (re.compile(r"\bspam\b|junk mail|unsolicited|\bube\b|content rejected"), BounceReason.SPAMDETECTED),
    # Amazon SES inbound: "550 5.2.0 Message Filtered"
    (re.compile(r"message filtered"), BounceReason.FILTERED),
    # Google Groups, in the poster's language, always linking its help: "the group you tried to contact (x) may not
    # exist, or you may not have permission to post messages to the group ... https://groups.google.com/support/"
    (re.compile(r"groups\.google\.com/support"), BounceReason.REJECTED),
    # "550 Unauthenticated senders not allowed";
    # MessageLabs: "550-Please turn on SMTP Authentication in your mail client."
    (
        re.compile(r"smtp auth|unauthenticated senders|authentication required|must (?:first )?authenticate"),
        BounceReason.SECURITYERROR,
    ),
    # Gmail: "550-5.7.25 The IP address sending this message does not have a PTR record setup";
    # Outlook.com: "550 5.5.0 domain [example.com] mismatches client ip 192.0.2.225"
    (
        re.compile(
            r"\bptr\b|reverse dns|\brdns\b|cannot find your (?:reverse )?hostname|ip name lookup|mismatches client ip"
            r"|reverse (?:lookup|resolution)"
        ),
        BounceReason.REQUIREPTR,
    ),
    # Postfix: "554 5.7.1 <x>: Relay access denied"; Amazon SES sandbox: "554 Message rejected: Email address is not
    # verified. The following identities failed the check in region AP-NORTHEAST-1: x@example.jp"
    # "550 5.7.0 <x>: Recipient address rejected: No relaying"
    (
        re.compile(
            r"relay(?:ing)? (?:access )?(?:denied|not permitted)|not permitted to relay|no relaying"
            r"|identities failed the check"
        ),
        BounceReason.NORELAYING,
    ),
    # "550 5.7.0 Local Policy Violation"; "550 Denied by policy"; Yahoo: "554 5.7.9 Message not accepted for policy
    # reasons"; "550 Protocol violation"; Mimecast: "554 Host network not allowed"
    (
        re.compile(r"policy violation|denied by policy|for policy reasons|protocol violation|network not allowed"),
        BounceReason.POLICYVIOLATION,
    ),
    # qmail-ldap: "account is locked"; Amazon WorkMail: "User x temporary locked"; i.ua: "550 Mailbox is frozen"
    (
        re.compile(r"account is locked|temporar(?:il)?y locked|mailbox is frozen|mailbox (?:is )?inactive"),
        BounceReason.SUSPEND,
    ),
    # The recipient's own choice, not a missing mailbox, whatever the code: Facebook "550 5.1.1 RCP-P2 ... Refused due
    # to recipient preferences"; in a general form for "refused by/due to the recipient's settings, rules or filter"
    (
        re.compile(
            r"recipient preferences"
            r"|(?:due to|by|per) (?:the )?recipient'?s? (?:own )?(?:preferences|settings|rules|filters?)"
        ),
        BounceReason.FILTERED,
    ),
)
