"""Settings of bulk validation jobs: sizes, pacing, leases, retries and completion callbacks."""

from __future__ import annotations

from dataclasses import dataclass

from validator.config.fields import setting


@dataclass(frozen=True)
class JobSettings:
    """How bulk jobs are accepted, worked and reported."""

    job_max_rows: int = setting("VALIDATOR_JOB_MAX_ROWS", "Most rows in one bulk job (`POST /v1/jobs`).", 1_000_000)
    job_max_upload_bytes: int = setting(
        "VALIDATOR_JOB_MAX_UPLOAD_BYTES", "Largest bulk job upload, in bytes (streamed, never held whole).", 268_435_456
    )
    job_chunk_rows: int = setting(
        "VALIDATOR_JOB_CHUNK_ROWS", "Rows per chunk: the unit a runner claims, checks and stores at once.", 1000
    )
    job_workers: int = setting(
        "VALIDATOR_JOB_WORKERS", "Chunks this process works at once; `0` runs no job runner here.", 1
    )
    job_process: bool = setting(
        "VALIDATOR_JOB_PROCESS",
        "Run the job runner in a child process at idle CPU priority (SCHED_IDLE), away from real-time requests "
        "(`false`: in the service's process, sharing its event loop).",
        True,
    )
    job_slice: int = setting(
        "VALIDATOR_JOB_SLICE",
        "Most addresses a runner checks between yields to real-time requests (fewer when they cost more than "
        "`VALIDATOR_JOB_SLICE_MS`).",
        100,
    )
    job_slice_ms: float = setting(
        "VALIDATOR_JOB_SLICE_MS",
        "Milliseconds of CPU a runner's slice of checks or of result rendering takes before it yields to "
        "real-time requests.",
        1.0,
    )
    job_dns_max_inflight: int = setting(
        "VALIDATOR_JOB_DNS_MAX_INFLIGHT",
        "DNS queries jobs may hold of `VALIDATOR_DNS_MAX_INFLIGHT` (the rest are kept for real-time validations, "
        "which are also served first).",
        100,
    )
    job_timeout_ms: int = setting(
        "VALIDATOR_JOB_TIMEOUT_MS",
        "Deadline of a chunk's DNS lookups, and of each slice of its checks (what is unknown by then says so).",
        10_000,
    )
    job_lease_seconds: float = setting(
        "VALIDATOR_JOB_LEASE_SECONDS",
        "Seconds a claimed chunk stays with its runner; a dead runner's chunks are reclaimed after it.",
        60.0,
    )
    job_upload_lease_seconds: float = setting(
        "VALIDATOR_JOB_UPLOAD_LEASE_SECONDS",
        "Seconds a job upload may take; a `receiving` job older than this was abandoned (its process died) and "
        "is removed with its chunks by a job runner.",
        3600.0,
    )
    job_poll_seconds: float = setting(
        "VALIDATOR_JOB_POLL_SECONDS", "Seconds an idle runner waits before looking for work again.", 1.0
    )
    job_greylist_delay: float = setting(
        "VALIDATOR_JOB_GREYLIST_DELAY",
        "Seconds a job waits before asking greylisted addresses again (greylisting servers accept a retry after "
        "a few minutes).",
        300.0,
    )
    job_greylist_retries: int = setting(
        "VALIDATOR_JOB_GREYLIST_RETRIES",
        "Times a job asks a greylisted address again before reporting it `greylisted`.",
        2,
    )
    job_callback_secret: str = setting(
        "VALIDATOR_JOB_CALLBACK_SECRET",
        "Key of the HMAC-SHA256 signature of job callbacks (`X-Validator-Signature`); empty: unsigned.",
        "",
    )
    job_callback_allow: tuple[str, ...] = setting(
        "VALIDATOR_JOB_CALLBACK_ALLOW",
        "Comma-separated hosts and networks (CIDR) callbacks may reach although loopback or private.",
        (),
    )
