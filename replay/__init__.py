"""Audit replay, projection rebuild and backtests."""
