"""Times in read-model rows: UTC ISO 8601 text, which sorts as it should on every backend."""

from __future__ import annotations

from datetime import UTC, datetime


def to_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)
