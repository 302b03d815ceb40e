"""The event catalogue: every fact Milkbot records. See ``base`` for the envelope."""

from domain.events.advisory import AdvisoryNoteRecorded
from domain.events.base import (
    MILKBOT_NAMESPACE,
    Action,
    Event,
    Inches,
    MarketKind,
    Record,
    Side,
    deterministic_id,
)
from domain.events.market import (
    BookLevel,
    MarketFeedFailed,
    MarketQuote,
    MarketSettled,
    MarketSnapshotted,
)
from domain.events.oms import ReconciliationCompleted, ReconciliationFailed, VenueOrderFound
from domain.events.risk import (
    AlertRaised,
    BreakerCleared,
    BreakerTripped,
    CheckOutcome,
    EquityMarked,
    KillSwitchEngaged,
    OrderRiskChecked,
    RiskLimitBreached,
    TradingResumed,
    TradingState,
    TradingStateChanged,
)
from domain.events.scoring import (
    ForecastScored,
    ModelScores,
    ModelStateRecorded,
    Scores,
)
from domain.events.trading import (
    BinProbability,
    ConfigVersionRecorded,
    DecisionMade,
    Edge,
    Holding,
    IntendedOrder,
    ModelProbabilities,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RestingSeen,
    config_version_of,
)
from domain.events.weather import (
    ClimateReportRecorded,
    ClimateReportRejected,
    ForecastPeriod,
    Observation,
    WeatherFeedFailed,
    WeatherSnapshotted,
)

__all__ = [
    "MILKBOT_NAMESPACE", "Action", "AdvisoryNoteRecorded", "AlertRaised", "BinProbability", "BookLevel",
    "BreakerCleared", "BreakerTripped", "CheckOutcome", "ClimateReportRecorded", "ClimateReportRejected",
    "ConfigVersionRecorded", "DecisionMade", "Edge", "EquityMarked", "Event", "ForecastPeriod",
    "ForecastScored", "Holding", "Inches", "IntendedOrder", "KillSwitchEngaged", "MarketFeedFailed",
    "MarketKind",
    "MarketQuote", "MarketSettled", "MarketSnapshotted", "ModelProbabilities", "ModelScores",
    "ModelStateRecorded", "Observation", "OrderAccepted", "OrderAmended", "OrderCanceled",
    "OrderExpired", "OrderFilled", "OrderRejected", "OrderRiskChecked", "OrderSubmitted",
    "ReconciliationCompleted", "ReconciliationFailed", "Record", "RestingSeen", "RiskLimitBreached",
    "Scores", "Side", "TradingResumed", "TradingState", "TradingStateChanged", "VenueOrderFound",
    "WeatherFeedFailed", "WeatherSnapshotted", "config_version_of", "deterministic_id",
]
