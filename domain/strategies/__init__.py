"""Strategies as plug-ins: pure rules from one ladder's recorded inputs to the orders they want.

``base`` is the interface and the registry, ``sizing`` the shared fractional-Kelly sizing; the
built-in strategies (``taker``, ``maker``) register themselves when this package is imported.
"""

from domain.strategies.base import (
    ConfiguredStrategy,
    Intent,
    RestingOrder,
    Strategy,
    StrategyConfigError,
    StrategyError,
    StrategyInput,
    StrategyParams,
    StrategySpec,
    UnknownStrategy,
    load_strategies,
    register,
    strategy,
)
from domain.strategies.maker import Maker, MakerParams
from domain.strategies.sizing import Size, SizingParams, kelly_share, size_buy
from domain.strategies.taker import Taker, TakerParams

__all__ = [
    "ConfiguredStrategy", "Intent", "Maker", "MakerParams", "RestingOrder", "Size", "SizingParams",
    "Strategy", "StrategyConfigError", "StrategyError", "StrategyInput", "StrategyParams",
    "StrategySpec", "Taker", "TakerParams", "UnknownStrategy", "kelly_share", "load_strategies",
    "register", "size_buy", "strategy",
]
