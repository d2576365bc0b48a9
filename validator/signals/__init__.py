"""Risk signals that need no DNS, and typo suggestions for mailbox domains."""
