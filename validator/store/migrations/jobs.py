"""Schema versions 3 and 4: bulk jobs and their chunks, and whose they are (see ``migrations/__init__.py`` for
the rules of migrations).

One row per job, one row per chunk of ``VALIDATOR_JOB_CHUNK_ROWS`` input rows. A chunk holds
its input and, once answered, its answers as compressed blobs (``job_records.py``), and its
lease: who works it (``lease_owner``) until when (``lease_until``), how many times it was
claimed (``attempts``). The partial index covers only unanswered chunks, so claiming stays
an index probe however many answered chunks there are. Times as in version 1 (SQLite
microseconds, PostgreSQL ``TIMESTAMPTZ``).
"""

from __future__ import annotations

V3_SQLITE = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0,
    processed INTEGER NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    error TEXT,
    callback TEXT
);
CREATE TABLE job_chunks (
    job_id TEXT NOT NULL,
    chunk_no INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    input BLOB,
    results BLOB,
    lease_owner TEXT,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, chunk_no)
) WITHOUT ROWID;
CREATE INDEX job_chunks_todo ON job_chunks (job_id, chunk_no) WHERE results IS NULL
"""

# Version 4: how many rows of a leased chunk its runner has answered, so that a job's progress
# moves per slice rather than per chunk; reset when the chunk is claimed again.
V5_ANSWERED = "ALTER TABLE job_chunks ADD COLUMN answered INTEGER NOT NULL DEFAULT 0"

V3_POSTGRES = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    processed BIGINT NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    error TEXT,
    callback TEXT
);
CREATE TABLE job_chunks (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    chunk_no INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    input BYTEA,
    results BYTEA,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, chunk_no)
);
CREATE INDEX job_chunks_todo ON job_chunks (job_id, chunk_no) WHERE results IS NULL
"""

# Version 4: a job belongs to the key that submitted it by the key's id. Names are unique only
# among active keys, so a new key reusing a revoked key's name must not see the old key's jobs.
# Existing rows go to the key of that name that was active when the job was created; a job no
# such key matches keeps NULL, which only an admin key sees.
_V4_OWNERS = """
UPDATE jobs SET owner_key = (
    SELECT k.id FROM api_keys k
    WHERE 'key:' || k.name = jobs.created_by AND k.created_at <= jobs.created_at
      AND (k.revoked_at IS NULL OR k.revoked_at >= jobs.created_at)
    ORDER BY k.created_at DESC LIMIT 1)
WHERE created_by LIKE 'key:%'
"""
V4_SQLITE = "ALTER TABLE jobs ADD COLUMN owner_key TEXT;\n" + _V4_OWNERS
V4_POSTGRES = "ALTER TABLE jobs ADD COLUMN owner_key TEXT;\n" + _V4_OWNERS
