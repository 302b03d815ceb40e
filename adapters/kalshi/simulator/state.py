"""The simulator's state directory: the account's orders, fills, positions and cash survive a restart.

One JSON document (``exchange.json``) replaced atomically (write a temporary file, fsync, rename), so
a crash leaves either the old state or the new one, never half of each.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "exchange.json"
FORMAT_VERSION = 1


class StateStore:
    """Loads and saves the exchange's state under ``directory`` (``None``: memory only)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path | None:
        return None if self.directory is None else self.directory / STATE_FILE

    def load(self) -> dict[str, Any] | None:
        path = self.path
        if path is None or not path.exists():
            return None
        document = json.loads(path.read_text())
        if document.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: unknown state format {document.get('format')!r}")
        state: dict[str, Any] = document["exchange"]
        return state

    def save(self, state: dict[str, Any]) -> None:
        path = self.path
        if path is None:
            return
        temporary = path.with_suffix(".tmp")
        with temporary.open("w") as f:
            json.dump({"format": FORMAT_VERSION, "exchange": state}, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
