"""Advisory notes: a language model's plain-language review of a day, recorded for the operator.

A note is advice to a human and nothing else. It names no market, side, price or count, and no
part of Milkbot reads it to decide, size or place an order (``tests/unit/test_advisory_isolation``
holds both lines). ``milkbot.advisory`` requests it; see there for how the prompt is built.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from domain.events.base import Event

#: The longest note recorded, in characters; a longer answer is cut (and says so) before recording.
NOTE_MAX_CHARS = 4_000
#: A token count as the provider reported it (JSON, and the ledger, hold 64-bit integers).
Tokens = Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]


def advisory_stream(day: date) -> str:
    """The stream of one day's note: it holds one event, so a day is reviewed once."""
    return f"advisory:{day.isoformat()}"


class AdvisoryNoteRecorded(Event):
    """What the model said about ``day``, with what it was asked (as a digest) and what it cost.

    ``venue_time`` is when the provider says it created the answer. The prompt is plain text
    rendered from the ledger's own facts, so its SHA-256 (``prompt_digest``, 64 hex digits) shows
    which facts the note saw; the event id is derived from the day and that digest.
    """

    #: The day reviewed (the ledger's date, not the day the note was written).
    day: date
    #: The model the provider says answered (it may route to another than the one asked for).
    model: str = Field(min_length=1, max_length=200)
    #: The provider's id for the request (OpenRouter's ``gen-...``), to look it up there.
    provider_request_id: str = Field(min_length=1, max_length=200)
    # Not a regex: the ledger's property tests draw every event from its declared constraints.
    prompt_digest: str = Field(min_length=1, max_length=64)
    note: str = Field(min_length=1, max_length=NOTE_MAX_CHARS)
    #: Token counts as the provider reported them (None: it did not say).
    prompt_tokens: Tokens | None = None
    completion_tokens: Tokens | None = None
    total_tokens: Tokens | None = None
