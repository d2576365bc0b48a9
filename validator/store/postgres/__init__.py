"""The shared store on PostgreSQL (see ``connections.py``)."""

from validator.store.postgres.connections import PostgresStore

__all__ = ["PostgresStore"]
