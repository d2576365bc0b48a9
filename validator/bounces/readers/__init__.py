"""Readers of bounce messages: DSN (RFC 3464), ARF (RFC 5965), MTA texts, SES, auto-replies."""
