"""Bounce ingestion: what happened after sending, read from real bounces, events and webhooks.

Readers (``message``, ``events``, ``webhooks``) are pure: bytes or JSON in, ``BounceFact``
records out, one per recipient, in the vocabulary of ``facts``. They report facts only:
what to do with a fact (suppress, count a soft streak, ignore) is ``validator.bounces.policy``'s
decision, and ``ingest`` applies it to the store.
"""
