"""The shared store on PostgreSQL: ``PostgresStore``, composed of one class per role.

    connections.py   the pool, transactions and their retries, error translation, migrations
    pool.py          the connection pool (why not asyncpg's: there)
    suppressions.py  the suppression list, its audit trail and the validation lookup
    api_keys.py      API keys
    bounces.py       bounce ingestion, streaks, the report and the event lists
    probe_ledger.py  probe acceptances and their disagreements with bounces
    jobs.py          bulk jobs
    sql.py           SQL text and row conversions

Only this package knows ``asyncpg``.
"""

from validator.store.postgres.api_keys import PostgresApiKeys
from validator.store.postgres.bounces import PostgresBounces
from validator.store.postgres.jobs import PostgresJobs
from validator.store.postgres.probe_ledger import PostgresProbeLedger

__all__ = ["PostgresStore"]


class PostgresStore(PostgresBounces, PostgresApiKeys, PostgresProbeLedger, PostgresJobs):
    """The ``Store`` on PostgreSQL. Open with ``await PostgresStore.open(dsn)``."""
