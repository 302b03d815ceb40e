"""The risk engine: pre-trade checks, exposure, drawdown limits, stale-data breakers and the
trading state with its kill switch. Pure: events and plain values in, events out; no clock, no I/O.

``limits`` holds the configured limits; ``exposure`` the worst-case loss arithmetic; ``checks`` the
verdict on each intended order; ``drawdown`` the daily, weekly and monthly limits on marked equity;
``breakers`` the stale-data breakers; ``state`` the trading state folded from the ledger, and the
operator's kill and resume.
"""

from domain.risk.breakers import FeedReading, breaker_events, breaker_stream, market_feed, weather_feed
from domain.risk.checks import (
    CHECK_NAMES,
    RiskContext,
    check_order,
    check_orders,
    evaluate,
    markets_of,
    order_cost,
    risk_stream,
)
from domain.risk.drawdown import Drawdown, Period, drawdown_events, measure, period_bounds
from domain.risk.errors import MissingRiskInput, NotHalted, RiskError
from domain.risk.exposure import Exposure, Held, exposure, market_loss, outcome_losses, reduces
from domain.risk.limits import MinutesByKind, RiskLimits
from domain.risk.state import (
    ALL,
    OPERATOR_STREAM,
    Breaker,
    Hold,
    Standing,
    TradingStates,
    city_scope,
    kill,
    resume,
    worst,
)

__all__ = [
    "ALL", "CHECK_NAMES", "OPERATOR_STREAM", "Breaker", "Drawdown", "Exposure", "FeedReading", "Held",
    "Hold", "MinutesByKind", "MissingRiskInput", "NotHalted", "Period", "RiskContext", "RiskError",
    "RiskLimits", "Standing", "TradingStates", "breaker_events", "breaker_stream", "check_order",
    "check_orders", "city_scope", "drawdown_events", "evaluate", "exposure", "kill", "market_feed",
    "market_loss", "markets_of", "measure", "order_cost", "outcome_losses", "period_bounds", "reduces",
    "resume", "risk_stream", "weather_feed", "worst",
]
