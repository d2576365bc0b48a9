"""SMTP probing: sessions, the per-host pool, rate limits shared by replicas, and the ledger of what probes said."""
