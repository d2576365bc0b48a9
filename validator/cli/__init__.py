"""The command line: one module per command, ``main`` parses arguments and dispatches.

Commands: ``serve`` (the only one that loads ``validator.api``), ``check``, ``batch`` (a list,
here), ``jobs`` (a remote service), ``keys``, ``suppress``, ``bounces`` (``ingest``, ``report``).
Beside them: ``exits`` (the exit-code table), ``files`` (paths named on the line), ``render``
(the one table renderer, JSON and error lines), ``progress`` (a list run's progress line and
summary) and ``store_access`` (the configured store, opened per command).
"""
