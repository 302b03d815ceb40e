"""Read models folded from the global event log: idempotent followers that rebuild identically."""
