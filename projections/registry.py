"""Every projection Milkbot keeps, by name."""

from __future__ import annotations

from collections.abc import Callable

from projections.base import Projection
from projections.calibration import CalibrationProjection
from projections.execution import ExecutionProjection
from projections.market_board import MarketBoardProjection
from projections.portfolio import PortfolioProjection
from projections.public_feed import MINIMUM_DELAY_MINUTES, PublicTradeFeed
from projections.public_portfolio import PublicPortfolioProjection
from projections.trading_state import TradingStateProjection


def projection_factories(public_delay_minutes: int = MINIMUM_DELAY_MINUTES) -> (
    dict[str, Callable[[str], Projection]]
):
    """Name -> a function building that projection with a table prefix."""
    return {
        PortfolioProjection.name: lambda prefix: PortfolioProjection(prefix=prefix),
        PublicTradeFeed.name: lambda prefix: PublicTradeFeed(public_delay_minutes, prefix=prefix),
        CalibrationProjection.name: lambda prefix: CalibrationProjection(prefix=prefix),
        ExecutionProjection.name: lambda prefix: ExecutionProjection(prefix=prefix),
        PublicPortfolioProjection.name: lambda prefix: PublicPortfolioProjection(
            public_delay_minutes, prefix=prefix),
        MarketBoardProjection.name: lambda prefix: MarketBoardProjection(prefix=prefix),
        TradingStateProjection.name: lambda prefix: TradingStateProjection(prefix=prefix),
    }


def all_projections(public_delay_minutes: int = MINIMUM_DELAY_MINUTES,
                    prefix: str = "proj_") -> list[Projection]:
    return [build(prefix) for build in projection_factories(public_delay_minutes).values()]
