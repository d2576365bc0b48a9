"""The shared vocabulary: enums and frozen values that every layer speaks.

Nothing here does I/O or imports from outside ``validator.model``; every other module may import
it. Enum values are the wire values (lower_snake), so the API, the CLI and openapi.yaml all use
the same words. By subject: ``checks`` (a validation and its facts), ``suppressions`` (the
suppression list and its audit trail), ``api_keys``; this package is their one public face.
"""

from validator.model.api_keys import ORIGIN_PREFIX, PUBLISHABLE, ApiKey
from validator.model.checks import (
    Action,
    Address,
    InvalidAddress,
    MxAnswer,
    MxHost,
    MxOutcome,
    ProbeOutcome,
    ProbeResult,
    Reason,
    Signals,
    SoftStreak,
    Status,
    SyntaxProblem,
    Verdict,
)
from validator.model.suppressions import (
    BOUNCE_REASONS,
    AuditAction,
    AuditEntry,
    BulkResult,
    Suppression,
    SuppressionEntry,
    SuppressionKind,
    SuppressionReason,
)

__all__ = [
    "BOUNCE_REASONS",
    "Action",
    "Address",
    "ApiKey",
    "AuditAction",
    "AuditEntry",
    "BulkResult",
    "InvalidAddress",
    "MxAnswer",
    "MxHost",
    "MxOutcome",
    "ORIGIN_PREFIX",
    "PUBLISHABLE",
    "ProbeOutcome",
    "ProbeResult",
    "Reason",
    "Signals",
    "SoftStreak",
    "Status",
    "Suppression",
    "SuppressionEntry",
    "SuppressionKind",
    "SuppressionReason",
    "SyntaxProblem",
    "Verdict",
]
