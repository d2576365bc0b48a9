"""Schema version 6: the audit trail of bulk imports, one record per import batch instead of one per row.

Before it, every entry an import created wrote its own ``suppression_audit`` row (actor, time,
why, the entry's content): 971 MB of a 2.1 GB SQLite file at 5,000,000 imported addresses.
Since it, a batch of ``put_suppressions_bulk`` (``BULK_BATCH`` entries, one transaction) writes
one ``suppression_batches`` row (actor, time, why, how many it created, and the ids of the rows
it created lie within ``first_id``..``last_id``: exactly those on SQLite, where ids come from one
counter; on PostgreSQL a concurrent insert elsewhere may take an id inside the range), and each
row it creates carries that batch's id (``suppressions.batch_id``). The trail of such a key shows
the batch's creation; its content at creation is the row itself until a later change records it
as that change's ``before``. Changes with something to remember (updates, re-creations of expired
entries, deletions) and every single change keep their own audit row, which names the batch that
created the row they change (``suppression_audit.batch_id``), so the creation stays in the trail
after a deletion. Rows written before this version have no batch (NULL): their trail is unchanged.
"""

from __future__ import annotations

V6_SQLITE = """
CREATE TABLE suppression_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL,
    why TEXT,
    added INTEGER NOT NULL,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL
);
ALTER TABLE suppressions ADD COLUMN batch_id INTEGER;
ALTER TABLE suppression_audit ADD COLUMN batch_id INTEGER
"""

V6_POSTGRES = """
CREATE TABLE suppression_batches (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    why TEXT,
    added INTEGER NOT NULL,
    first_id BIGINT NOT NULL,
    last_id BIGINT NOT NULL
);
ALTER TABLE suppressions ADD COLUMN batch_id BIGINT;
ALTER TABLE suppression_audit ADD COLUMN batch_id BIGINT
"""
