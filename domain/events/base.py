"""The envelope every ledger event shares, the value types money is made of, and the registry.

Events are frozen, past-tense records. Each one carries its own identity (``event_id``), its place in
its stream (``stream``, ``version``), two clocks (``venue_time``: what the venue or provider said;
``recorded_at``: the ledger's clock when we recorded it), and the ids that tie a command's events
together (``correlation_id``) and to what caused them (``causation_id``).

A schema changes by bumping ``SCHEMA_VERSION`` on the class and registering an upcaster from the old
version (see ``upcasting``); an event already in the ledger is never edited.

Prices, counts and money are integers of their smallest unit (see ``domain.money``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

#: Namespace of every deterministic id Milkbot derives (uuid5). Never change it: ids in the ledger
#: were derived from it.
MILKBOT_NAMESPACE = uuid.UUID("8f2b5c1e-3a7d-5e4f-9b6a-0c1d2e3f4a5b")


def deterministic_id(*parts: object) -> uuid.UUID:
    """The same parts give the same id, on every machine, forever (uuid5 over ``|``-joined parts)."""
    return uuid.uuid5(MILKBOT_NAMESPACE, "|".join(str(p) for p in parts))


def _refuse_float(value: Any) -> Any:
    # A float has already lost the exact value (0.1 + 0.2); measured amounts arrive as str or int.
    if isinstance(value, float):
        raise ValueError("exact amounts must be given as str, int or Decimal, never float")
    return value


#: A measured amount of precipitation or snow in inches, as reported (trace is 0).
Inches = Annotated[Decimal, BeforeValidator(_refuse_float), Field(ge=0, decimal_places=2)]
#: A strike as Kalshi publishes it (whole degrees F, or inches).
Strike = Annotated[Decimal, BeforeValidator(_refuse_float)]


class Side(StrEnum):
    YES = "yes"
    NO = "no"


class Action(StrEnum):
    BUY = "buy"
    SELL = "sell"


class MarketKind(StrEnum):
    DAILY_HIGH = "daily_high"
    MONTHLY_RAIN = "monthly_rain"
    MONTHLY_SNOW = "monthly_snow"


class Record(BaseModel):
    """A frozen value inside an event (a book level, a forecast period...).

    NaN and infinities are refused: JSON cannot hold them, so they could never be read back."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Event(Record):
    """Base of every ledger event. Subclasses are registered by class name when defined."""

    SCHEMA_VERSION: ClassVar[int] = 1
    registry: ClassVar[dict[str, type[Event]]] = {}

    event_id: uuid.UUID
    stream: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    recorded_at: AwareDatetime
    venue_time: AwareDatetime | None = None
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        if name in Event.registry and Event.registry[name] is not cls:
            raise TypeError(f"two event classes are both named {name!r}")
        Event.registry[name] = cls

    @classmethod
    def topic(cls) -> str:
        """The stored topic: the class name and its schema version, e.g. ``OrderFilled.v1``."""
        return f"{cls.__name__}.v{cls.SCHEMA_VERSION}"

    @property
    def event_type(self) -> str:
        return type(self).__name__

