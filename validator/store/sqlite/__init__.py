"""The embedded store on one SQLite file: ``SqliteStore``, composed of one class per role.

    connections.py   threads, the loop's read snapshot, writes, migrations (why this shape: there)
    keyfilters.py    the key filters that spare most lookups a query, and their keeper
    keyfeed.py       each filter: the loop's pull, the keeper's build and extension
    keyfile.py       the filter file beside the database, mapped by every process of the host
    suppressions.py  the suppression list and its audit trail
    api_keys.py      API keys
    bounces.py       bounce ingestion, streaks, the report and the event lists
    probe_ledger.py  probe acceptances and their disagreements with bounces
    jobs.py          bulk jobs
    sql.py           SQL text, row conversions, sqlite3 error translation

Only this package knows ``sqlite3``.
"""

from validator.store.sqlite.api_keys import SqliteApiKeys
from validator.store.sqlite.bounces import SqliteBounces
from validator.store.sqlite.connections import SNAPSHOT_SECONDS
from validator.store.sqlite.jobs import SqliteJobs
from validator.store.sqlite.keyfeed import FILTER_PULL_MAX
from validator.store.sqlite.probe_ledger import SqliteProbeLedger

__all__ = ["FILTER_PULL_MAX", "SNAPSHOT_SECONDS", "SqliteStore"]


class SqliteStore(SqliteBounces, SqliteApiKeys, SqliteProbeLedger, SqliteJobs):
    """The ``Store`` on a SQLite file. Open with ``await SqliteStore.open(path)``."""
