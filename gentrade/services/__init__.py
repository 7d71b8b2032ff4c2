"""Use cases: they own the transaction and know nothing of HTTP requests."""
