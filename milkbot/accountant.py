"""The accountant: what settlements say about our forecasts and trades, recorded as events.

After the projections have caught up, ``Accountant.run`` appends:

- a ``ForecastScored`` for every ladder and lead the calibration projection has scored and the
  ledger does not yet hold (``score:{event}:{lead}``; a rescored ladder keeps its first record);
- for each city and market kind that gained scores, a ``ModelStateRecorded`` learned from the
  scores in the window (``modelstate:{city}:{kind}``, the next version): the station's bias, the
  spread by lead and the ensemble weights the next decisions use;
- an ``AlertRaised`` when the mean realized edge after costs of the last trades crosses below the
  configured level (``domain.accountability.edge_alert``).

It reads the projections and writes events only; run twice on the same ledger, it records nothing
the second time. The decisions themselves stay pure: they read the model state as a recorded input.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from domain.accountability import edge_alert, edge_of, forecast_scored, score_stream
from domain.config import MilkbotConfig
from domain.events import (
    Action,
    DecisionMade,
    Event,
    ForecastScored,
    MarketKind,
    ModelStateRecorded,
    Side,
    deterministic_id,
)
from domain.learning import learn_model_state, paid
from milkbot.bootstrap import Milkbot


def model_state_stream(city: str, kind: MarketKind) -> str:
    return f"modelstate:{city}:{kind.value}"


class Accountant:
    def __init__(self, app: Milkbot, config: MilkbotConfig) -> None:
        self._app = app
        self._config = config

    def run(self, now: datetime) -> list[Event]:
        """Record what the projections show and the ledger lacks; the events appended."""
        correlation = deterministic_id("accountant", now.isoformat())
        scored = self._new_scores(now, correlation)
        recorded: list[Event] = list(scored)
        store = self._app.ledger.store
        if scored:
            store.append(scored)
        for city, kind in sorted({(s.city, s.kind) for s in scored}):
            state = self._learn(city, kind, now, correlation)
            if state is not None:
                store.append([state])
                recorded.append(state)
        alert = edge_alert(self._realized_edges(), self._config.accountability, scope="portfolio",
                           recorded_at=now, correlation_id=correlation)
        if alert is not None and store.append([alert]).positions:
            recorded.append(alert)
        return recorded

    def _new_scores(self, now: datetime, correlation: uuid.UUID) -> list[ForecastScored]:
        store = self._app.ledger.store
        with self._app.ledger.backend.transaction() as tx:
            rows = tx.execute(
                "SELECT s.event_ticker, s.lead_days, d.decision, s.settled_value "
                "FROM proj_forecast_scores s JOIN proj_calibration_decisions d "
                "ON d.event_ticker = s.event_ticker AND d.lead_days = s.lead_days "
                "ORDER BY s.event_ticker, s.lead_days")
            settlements = {ticker: paid(result, value, ticker) for ticker, result, value in tx.execute(
                "SELECT ticker, result, settlement_value FROM proj_calibration_settlements")}
        out = []
        for event_ticker, lead, decision_json, settled in rows:
            if store.stream_version(score_stream(event_ticker, lead)) > 0:
                continue
            decision = DecisionMade.model_validate_json(decision_json)
            value = None if settled is None else Decimal(repr(settled))
            out.append(forecast_scored(decision, settlements, value, recorded_at=now,
                                       correlation_id=correlation))
        return out

    def _learn(self, city: str, kind: MarketKind, now: datetime,
               correlation: uuid.UUID) -> ModelStateRecorded | None:
        store = self._app.ledger.store
        with self._app.ledger.backend.transaction() as tx:
            keys = tx.execute("SELECT event_ticker, lead_days FROM proj_forecast_scores "
                              "WHERE city = ? AND kind = ?", (city, kind.value))
        scored = [e for ticker, lead in keys for e in store.read_stream(score_stream(ticker, lead))
                  if isinstance(e, ForecastScored)]
        dated = [s.climate_date for s in scored if s.climate_date is not None]
        if not dated:
            return None
        as_of: date = max(dated)
        state = learn_model_state(scored, city=city, kind=kind, as_of=as_of,
                                  params=self._config.learning)
        stream = model_state_stream(city, kind)
        version = store.stream_version(stream) + 1
        return ModelStateRecorded(
            event_id=deterministic_id("modelstate", stream, version), stream=stream, version=version,
            recorded_at=now, correlation_id=correlation, **state.event_fields())

    def _realized_edges(self) -> list[float]:
        with self._app.ledger.backend.transaction() as tx:
            rows = tx.execute(
                "SELECT f.side, f.action, f.price, f.count, f.fee, s.settlement_value "
                "FROM proj_fills f JOIN proj_calibration_settlements s ON s.ticker = f.ticker "
                "WHERE f.count > 0 ORDER BY f.ts, f.fill_id")
        return [edge_of(Side(side), Action(action), price, count, fee, value)
                for side, action, price, count, fee, value in rows]
