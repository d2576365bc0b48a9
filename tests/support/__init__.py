"""What tests stand on, importable without pytest by benchmarks and scripts (``tests.support.*`` from the
repository root; pytest puts the root on ``sys.path``).

Real servers on loopback: ``dnsserver`` (UDP and TCP, a zone tests mutate), ``smtpserver`` (scripted
aiosmtpd servers), ``postfix`` (a private Postfix instance), ``postgres_server`` (an embedded
PostgreSQL when none is configured), ``redis_server`` (a private Redis
likewise), ``browser`` (headless Chromium and the service as a subprocess).
Helpers: ``settings`` (the one place tests build ``Settings``), ``processes`` (running the
``validator`` command), ``stores`` (reading a store's tables directly), ``webhook_signers`` (signing
webhook requests as each provider does), ``doccommands`` (reading the documents' shell examples),
``configdoc`` (the settings tables of the docs), ``testdata`` (where ``tests/data`` is).
Fixtures that start these live in ``tests/conftest.py``. Nothing in ``validator`` may import from here.
"""
