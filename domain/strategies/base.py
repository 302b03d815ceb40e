"""The strategy interface: what a strategy sees, what it answers, and how one is found by name.

A strategy is a pure function of recorded inputs (STYLE.md, rule 2): ``decide(inputs, params)``
looks at one ladder, our probabilities for it, our positions, resting orders and available cash,
and answers the orders it would like, as ``Intent`` values. It reads no clock (``inputs.now`` is
the snapshot's recorded time), does no I/O and keeps no state between calls, so the same inputs
give the same intents, in the same order, every time.

Units are ``domain.money``'s: prices in 1/10,000 dollar, counts in 1/100 contract, money in micros.
Probabilities and edges are floats (dollars per contract); nothing a float computes reaches an
order's price or count except through an explicit round-down to an integer.

Adding a strategy is a new module that subclasses ``Strategy`` and decorates it with ``@register``,
its tests, and a configuration entry naming it (and the module, when it is not one of the built-in
ones) -- nothing else. ``load_strategies`` imports the module, finds the strategy and validates its
parameters.

Errors::

    StrategyError (ValueError)
    +-- UnknownStrategy        no strategy is registered under that name
    +-- StrategyConfigError    a configuration entry is malformed (unknown key, bad value, bad module)
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.events.base import Action, Side
from domain.events.trading import Edge, IntendedOrder
from domain.ladder import Ladder, Rung
from domain.money import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE

#: Micros in one price unit: ``price * MICROS_PER_PRICE`` is the dollars of one contract, in micros.
MICROS_PER_PRICE = MONEY_SCALE // PRICE_SCALE


class StrategyError(ValueError):
    """A strategy could not be found or configured; the message names the strategy."""


class UnknownStrategy(StrategyError):
    """No strategy is registered under the name asked for."""


class StrategyConfigError(StrategyError):
    """A strategy's configuration entry is malformed: the message names the strategy and the key."""


# -- what a strategy sees -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RestingOrder:
    """One of our orders still resting on the book."""

    ticker: str
    side: Side
    action: Action
    price: int
    #: What is left to fill (1/100 contract).
    remaining: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyInput:
    """Everything a strategy may look at, all of it recorded before the decision."""

    ladder: Ladder
    #: Our P(YES) for each rung, in the order of ``ladder.rungs``.
    probabilities: tuple[float, ...]
    #: Signed contracts per ticker (1/100 units): YES positive, NO negative. Absent means flat.
    positions: Mapping[str, int] = field(default_factory=dict)
    resting: tuple[RestingOrder, ...] = ()
    #: Cash available for new orders, in micros (what the caller counts as free: the strategies
    #: spend at most this across all the buys of one decision).
    balance: int
    #: The snapshot's recorded time (a recorded input, not a clock).
    now: datetime

    def __post_init__(self) -> None:
        if len(self.probabilities) != len(self.ladder.rungs):
            raise ValueError(f"{self.ladder.event_ticker}: {len(self.probabilities)} probabilities "
                             f"for {len(self.ladder.rungs)} rungs")
        for rung, p in zip(self.ladder.rungs, self.probabilities, strict=True):
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise ValueError(f"{rung.ticker}: probability {p!r} is not in [0, 1]")
        if self.balance < 0:
            raise ValueError(f"balance {self.balance} is negative")
        for order in self.resting:
            if order.remaining < 0:
                raise ValueError(f"{order.ticker}: a resting order has {order.remaining} left")

    def position(self, ticker: str) -> int:
        return self.positions.get(ticker, 0)

    def held(self, ticker: str, side: Side) -> int:
        """Contracts we hold on ``side`` of ``ticker`` (never negative)."""
        signed = self.position(ticker)
        return max(signed, 0) if side is Side.YES else max(-signed, 0)

    def resting_count(self, ticker: str, side: Side, action: Action) -> int:
        """What our resting orders on that market, side and action may still fill."""
        return sum(o.remaining for o in self.resting
                   if o.ticker == ticker and o.side is side and o.action is action)

    def rests_at(self, ticker: str, side: Side, action: Action, price: int) -> bool:
        return any(o.ticker == ticker and o.side is side and o.action is action and o.price == price
                   and o.remaining > 0 for o in self.resting)


# -- what a strategy answers --------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Intent:
    """An order a strategy would like, with the numbers that justify it (an ``Edge`` record)."""

    ticker: str
    side: Side
    action: Action
    price: int
    #: 1/100 contract; always positive.
    count: int
    post_only: bool
    #: Why, in plain words: the edge, the price, the sizing and any cap that bound it.
    reason: str
    #: The probability that ``side`` pays (P(YES) for YES, 1 - P(YES) for NO).
    probability: float
    #: The fee for one whole contract at ``price``, in micros.
    fee_per_contract: int
    #: The fee for the whole order at ``price`` and ``count``, in micros (as charged on a full fill).
    fee: int
    #: Expected dollars per contract after the fee: for a buy, ``probability - price - fee``; for a
    #: sale, ``price - fee - probability`` (what we take now against what holding is worth).
    edge_after_fees: float

    def edge(self) -> Edge:
        """The ``Edge`` record a ``DecisionMade`` carries for this intent."""
        return Edge(ticker=self.ticker, side=self.side, action=self.action,
                    probability=self.probability, price=self.price,
                    fee_per_contract=self.fee_per_contract, edge_after_fees=self.edge_after_fees)

    def order(self, client_order_id: str) -> IntendedOrder:
        """The ``IntendedOrder`` for this intent, under an id the caller derives."""
        return IntendedOrder(client_order_id=client_order_id, ticker=self.ticker, side=self.side,
                             action=self.action, price=self.price, count=self.count,
                             post_only=self.post_only, reason=self.reason)


def buy_edge(probability: float, price: int, fee_per_contract: int) -> float:
    """Dollars per contract we expect from buying at ``price`` and paying ``fee_per_contract``."""
    return probability - (price * MICROS_PER_PRICE + fee_per_contract) / MONEY_SCALE


def sell_edge(probability: float, price: int, fee_per_contract: int) -> float:
    """Dollars per contract a sale at ``price`` brings above what holding the contract is worth."""
    return (price * MICROS_PER_PRICE - fee_per_contract) / MONEY_SCALE - probability


def side_probability(p_yes: float, side: Side) -> float:
    return p_yes if side is Side.YES else 1.0 - p_yes


def tradable(rung: Rung, now: datetime) -> bool:
    """Open, and not past its close time (a status can lag the clock it was recorded at)."""
    return rung.open and (rung.close_time is None or rung.close_time > now)


def best_ask(rung: Rung, side: Side) -> tuple[int, int] | None:
    """``(price, displayed size)`` of the cheapest offer to buy ``side``, or None. Kalshi shows
    bids only: buying YES at ``1 - b`` takes a NO bid at ``b``, and the other way round."""
    if side is Side.YES:
        return None if rung.yes_ask is None else (rung.yes_ask, rung.no_bid_size)
    return None if rung.no_ask is None else (rung.no_ask, rung.yes_bid_size)


def best_bid(rung: Rung, side: Side) -> tuple[int, int] | None:
    """``(price, displayed size)`` of the best bid for ``side``, or None."""
    if side is Side.YES:
        return None if rung.yes_bid is None else (rung.yes_bid, rung.yes_bid_size)
    return None if rung.no_bid is None else (rung.no_bid, rung.no_bid_size)


def cents(price: int) -> str:
    """4300 -> ``43¢``; 4350 -> ``43.5¢``."""
    return f"{Decimal(price) / 100:f}¢"


def dollars(micros: int) -> str:
    """1_860_000 -> ``$1.86`` (rounded to the cent for reading only)."""
    return f"${Decimal(micros) / MONEY_SCALE:,.2f}"


def contracts(count: int) -> str:
    """800 -> ``8``; 822 -> ``8.22`` contracts."""
    whole, part = divmod(count, COUNT_SCALE)
    return str(whole) if part == 0 else f"{Decimal(count) / COUNT_SCALE:f}"


# -- the interface and the registry -------------------------------------------------------------

class StrategyParams(BaseModel):
    """Base for a strategy's parameters: frozen, and unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


P = TypeVar("P", bound=BaseModel)


class Strategy(ABC, Generic[P]):
    """A named, stateless rule turning one ``StrategyInput`` into intents.

    Subclasses set ``name`` (the configuration's name for it), ``Params`` (a frozen pydantic model
    refusing unknown keys, whose defaults are documented) and implement ``decide``.
    """

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]

    @abstractmethod
    def decide(self, inputs: StrategyInput, params: P) -> tuple[Intent, ...]:
        """The intents for ``inputs``: deterministic, in a stable order, possibly none."""


_REGISTRY: dict[str, type[Strategy[Any]]] = {}

S = TypeVar("S", bound=type[Strategy[Any]])


def register(cls: S) -> S:
    """Class decorator: make a strategy findable by its ``name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__qualname__} has no strategy name")
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise TypeError(f"strategy {name!r}: Params must be a pydantic model")
    if not (params.model_config.get("frozen") and params.model_config.get("extra") == "forbid"):
        raise TypeError(f"strategy {name!r}: Params must be frozen and forbid unknown keys "
                        "(subclass StrategyParams)")
    known = _REGISTRY.get(name)
    if known is not None and _origin(known) != _origin(cls):
        raise TypeError(f"strategy name {name!r} is taken by {_origin(known)}")
    _REGISTRY[name] = cls
    return cls


def _origin(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def strategy(name: str) -> type[Strategy[Any]]:
    """The strategy registered as ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownStrategy(f"no strategy named {name!r} (known: {', '.join(sorted(_REGISTRY))})"
                              ) from None


class StrategySpec(BaseModel):
    """One configuration entry: ``{name = "taker", module = "...", params = {...}}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    #: The module that defines the strategy, imported before it is looked up; None for built-ins.
    module: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConfiguredStrategy:
    """A strategy with its validated parameters, ready to decide."""

    strategy: Strategy[Any]
    params: BaseModel

    @property
    def name(self) -> str:
        return self.strategy.name

    def decide(self, inputs: StrategyInput) -> tuple[Intent, ...]:
        return self.strategy.decide(inputs, self.params)


def load_strategies(specs: Iterable[StrategySpec | Mapping[str, Any]]) -> tuple[ConfiguredStrategy, ...]:
    """The configured strategies, in configuration order, each with its parameters validated.

    An entry's ``module`` is imported first (``importlib``), so a strategy living outside this
    package registers itself; an unknown strategy, an unknown parameter or a bad value is refused
    with a ``StrategyError`` naming the strategy and the key.
    """
    loaded: list[ConfiguredStrategy] = []
    for raw in specs:
        spec = raw if isinstance(raw, StrategySpec) else _spec(raw)
        if spec.module is not None:
            try:
                importlib.import_module(spec.module)
            except ImportError as e:
                raise StrategyConfigError(f"strategy {spec.name!r}: cannot import module "
                                          f"{spec.module!r}: {e}") from e
        try:
            cls = strategy(spec.name)
        except UnknownStrategy as e:
            where = f" after importing {spec.module!r}" if spec.module is not None else ""
            raise UnknownStrategy(f"{e}{where}") from None
        if any(c.name == spec.name for c in loaded):
            raise StrategyConfigError(f"strategy {spec.name!r} is configured twice")
        loaded.append(ConfiguredStrategy(cls(), _params(cls, spec.params)))
    return tuple(loaded)


def _spec(raw: Mapping[str, Any]) -> StrategySpec:
    label = repr(raw.get("name", "?"))
    try:
        return StrategySpec.model_validate(dict(raw))
    except ValidationError as e:
        raise StrategyConfigError(f"strategy entry {label}: {_problems(e, 'key')}") from None


def _params(cls: type[Strategy[Any]], values: Mapping[str, Any]) -> BaseModel:
    try:
        return cls.Params.model_validate(dict(values))
    except ValidationError as e:
        problems = _problems(e, "parameter", known=sorted(cls.Params.model_fields))
        raise StrategyConfigError(f"strategy {cls.name!r}: {problems}") from None


def _problems(error: ValidationError, what: str, known: list[str] | None = None) -> str:
    out = []
    for err in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in err["loc"]) or "(entry)"
        if err["type"] == "extra_forbidden":
            hint = f" (known: {', '.join(known)})" if known is not None else ""
            out.append(f"unknown {what} {where!r}{hint}")
        else:
            out.append(f"{what} {where!r}: {err['msg']}")
    return "; ".join(out)
