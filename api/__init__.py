"""The public (delayed, read-only) and operator (authenticated) starlette apps (issue 8)."""
