"""The Kalshi Trade API v2 client and a wire-compatible exchange simulator (issue 4)."""
