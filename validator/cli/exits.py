"""The exit codes of the ``validator`` command, in one table (documented in docs/cli.md).

A ``ValidatorError`` maps to its code by class, as the HTTP middleware maps the same classes to
statuses; the codes that no error class carries (an undeliverable address, a failed job, an
unforeseen bug) are named here too, so a test can check every one against the documentation.
"""

from __future__ import annotations

from validator import errors

EXIT_CODE: dict[type[errors.ValidatorError], int] = {
    errors.ConfigError: 2,
    errors.BadRequest: 2,
    errors.BodyTooLarge: 2,
    errors.UnparseableMessage: 2,
    errors.NotFound: 4,
    errors.Conflict: 5,
    errors.StoreUnavailable: 6,
    errors.FileUnusable: 7,
    errors.Unreachable: 8,
    errors.Unauthorized: 9,
    errors.Forbidden: 9,
}
EXIT_UNDELIVERABLE = 1  # `check`: at least one address is undeliverable (grep-like, for scripts)
EXIT_INTERNAL = 3  # anything unforeseen: a bug to report, with the traceback `--debug` prints
EXIT_JOB_FAILED = 10  # `jobs submit --wait`: the job ended failed or cancelled
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def exit_code(exc: errors.ValidatorError) -> int:
    """The code for an error: that of its class, or of the nearest listed base class."""
    return next((code for cls, code in EXIT_CODE.items() if isinstance(exc, cls)), EXIT_INTERNAL)
