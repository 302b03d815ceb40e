"""Forecast accountability: each settled ladder's scores per lead, and a reliability table.

What it folds:

- ``DecisionMade``: the latest decision per ``(event_ticker, lead_days)``. Lead days change at each
  local day boundary, so this is the last decision made before each boundary: the forecast we
  stood by at that lead. Decisions without ``lead_days`` or probabilities are not scored.
- ``MarketSettled``: whether each market paid (an amended settlement replaces the first).
- ``ClimateReportRecorded``: final, self-consistent reports only (a correction replaces the
  report it corrects); they give the settled value (the high, or the month's total).
- ``ConfigVersionRecorded``: which CLI site settles each city's market kind under that config, so
  a decision's settled value is read from the report its own config names. A config that does not
  parse names no site; its ladders are still scored, without a settled value.

A ladder is scored at a lead once every market the decision priced has settled; a later input
(a new decision at that lead, an amended settlement, a report correction) rescores it. A settlement
that cannot be scored (an exclusive ladder without exactly one YES, a scalar result) leaves no row;
a malformed decision (a probability outside [0, 1], an exclusive ladder far from summing to 1,
components not aligned with its rungs) stops the projection with the decision's id, as corrupt
data should.

Tables (prefix ``proj_``):

- ``calibration_settlements``, ``calibration_decisions``, ``calibration_reports``,
  ``calibration_sites``: the inputs still needed, so a restart resumes from the rows alone.
- ``forecast_scores``: one row per settled ladder and lead: our Brier, log loss and RPS, the
  climatology and market-implied equivalents (NULL where the decision did not record them), the
  raw forecast and the settled value (see ``domain.scoring`` for what each score means per shape).
- ``reliability``: per city, kind, lead and probability bucket (``b`` covers ``[b/10, (b+1)/10)``,
  the last includes 1), the sum of our probabilities, how many of those markets paid, and how
  many there were; every market of every scored ladder is one point. Summing over leads (and
  kinds) gives a city's reliability diagram.

Sums are ``math.fsum`` over the points, so they do not depend on the order events arrive in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

import msgspec

from domain.config import ConfigError, parse_config
from domain.events import (
    ClimateReportRecorded,
    ConfigVersionRecorded,
    Event,
    MarketKind,
    MarketSettled,
    Scores,
)
from domain.learning import LadderScore, NotScorable, paid, score_ladder, settled_value, settles_on
from domain.scoring import bucket_of
from eventstore.backend import ReadModelTx, Row
from eventstore.codec import EventView
from projections.base import Projection, upsert
from projections.timefmt import from_text, to_text
from projections.views import DecisionView, whole_decision

#: What of a decision calibration does not keep: its row is the rest, as ``DecisionMade`` writes it.
SKIPPED = frozenset({"edges", "intended_orders"})
_READ = msgspec.json.Decoder(DecisionView)

#: A scored ladder at one lead.
Key = tuple[str, int]
#: ``(city, kind, lead_days, bucket)``.
BucketKey = tuple[str, str, int, int]
#: ``(event_ticker, lead_days, ticker)``: one market of one scored ladder.
Point = tuple[str, int, str]

SETTLEMENT_COLUMNS = ("ticker", "event_ticker", "result", "settlement_value", "settled_at")
DECISION_COLUMNS = ("event_ticker", "lead_days", "decided_at", "decision")
REPORT_COLUMNS = ("station", "climate_date", "max_temp_f", "precip_month_in", "snow_month_in")
SITE_COLUMNS = ("config_version", "city", "kind", "cli_site")
SCORE_COLUMNS = (
    "event_ticker", "lead_days", "city", "kind", "climate_date", "decision_id", "decided_at",
    "settled_at", "brier", "log_loss", "rps", "climatology_brier", "climatology_log_loss",
    "climatology_rps", "market_brier", "market_log_loss", "market_rps", "forecast_value",
    "settled_value",
)
RELIABILITY_COLUMNS = ("city", "kind", "lead_days", "bucket", "forecast_sum", "outcomes", "count")


@dataclass(frozen=True, slots=True)
class _Settlement:
    event_ticker: str
    result: str
    settlement_value: int
    settled_at: datetime

    def row(self, ticker: str) -> Row:
        return (ticker, self.event_ticker, self.result, self.settlement_value,
                to_text(self.settled_at))


#: ``(max_temp_f, precip_month_in, snow_month_in)`` of a final report.
_Report = tuple[int | None, Decimal | None, Decimal | None]


class CalibrationProjection(Projection):
    name = "calibration"
    rebuild_weight = 4.0
    consumes = frozenset({"DecisionMade", "MarketSettled", "ClimateReportRecorded",
                          "ConfigVersionRecorded"})
    uses_ledger_clock = False  # what it folds is timed by the events themselves
    views: ClassVar[Mapping[str, type[EventView]]] = {"DecisionMade": DecisionView}
    # The settlements come first: they are the rows an ordinary trading day always has.
    tables: ClassVar[dict[str, str]] = {
        "calibration_settlements": (
            "ticker TEXT PRIMARY KEY, event_ticker TEXT NOT NULL, result TEXT NOT NULL, "
            "settlement_value BIGINT NOT NULL, settled_at TEXT NOT NULL"
        ),
        "forecast_scores": (
            "event_ticker TEXT NOT NULL, lead_days BIGINT NOT NULL, city TEXT NOT NULL, "
            "kind TEXT NOT NULL, climate_date TEXT, decision_id TEXT NOT NULL, "
            "decided_at TEXT NOT NULL, settled_at TEXT NOT NULL, "
            "brier DOUBLE PRECISION NOT NULL, log_loss DOUBLE PRECISION NOT NULL, "
            "rps DOUBLE PRECISION NOT NULL, climatology_brier DOUBLE PRECISION, "
            "climatology_log_loss DOUBLE PRECISION, climatology_rps DOUBLE PRECISION, "
            "market_brier DOUBLE PRECISION, market_log_loss DOUBLE PRECISION, "
            "market_rps DOUBLE PRECISION, "
            "forecast_value DOUBLE PRECISION, settled_value DOUBLE PRECISION, "
            "PRIMARY KEY (event_ticker, lead_days)"
        ),
        "reliability": (
            "city TEXT NOT NULL, kind TEXT NOT NULL, lead_days BIGINT NOT NULL, "
            "bucket BIGINT NOT NULL, forecast_sum DOUBLE PRECISION NOT NULL, "
            "outcomes BIGINT NOT NULL, count BIGINT NOT NULL, "
            "PRIMARY KEY (city, kind, lead_days, bucket)"
        ),
        "calibration_decisions": (
            "event_ticker TEXT NOT NULL, lead_days BIGINT NOT NULL, decided_at TEXT NOT NULL, "
            "decision TEXT NOT NULL, PRIMARY KEY (event_ticker, lead_days)"
        ),
        "calibration_reports": (
            "station TEXT NOT NULL, climate_date TEXT NOT NULL, max_temp_f BIGINT, "
            "precip_month_in TEXT, snow_month_in TEXT, PRIMARY KEY (station, climate_date)"
        ),
        "calibration_sites": (
            "config_version TEXT NOT NULL, city TEXT NOT NULL, kind TEXT NOT NULL, "
            "cli_site TEXT NOT NULL, PRIMARY KEY (config_version, city, kind)"
        ),
    }
    keys: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "forecast_scores": ("event_ticker", "lead_days"),
        "reliability": ("city", "kind", "lead_days", "bucket"),
        "calibration_decisions": ("event_ticker", "lead_days"),
        "calibration_reports": ("station", "climate_date"),
        "calibration_sites": ("config_version", "city", "kind"),
    }

    def __init__(self, prefix: str = "proj_") -> None:
        super().__init__(prefix)
        self._clear()

    def _clear(self) -> None:
        self.settlements: dict[str, _Settlement] = {}
        self.decisions: dict[Key, DecisionView] = {}
        self.leads: dict[str, set[int]] = {}
        self.reports: dict[tuple[str, date], _Report] = {}
        self.sites: dict[tuple[str, str, str], str] = {}
        self.scores: dict[Key, Row] = {}
        self.buckets: dict[BucketKey, dict[Point, tuple[float, bool]]] = {}
        # Derived indexes: where each scored ladder's points went, which ladders wait on which
        # report, and which decisions were made under which config.
        self._points: dict[Key, list[tuple[BucketKey, Point]]] = {}
        self._report_of: dict[Key, tuple[str, date]] = {}
        self._waiting: dict[tuple[str, date], set[Key]] = {}
        self._by_config: dict[str, set[Key]] = {}
        self._dirty_settlements: set[str] = set()
        self._dirty_decisions: set[Key] = set()
        self._dirty_reports: set[tuple[str, date]] = set()
        self._dirty_sites: set[tuple[str, str, str]] = set()
        self._dirty_scores: set[Key] = set()
        self._dirty_buckets: set[BucketKey] = set()

    # -- reading back -------------------------------------------------------------------------

    def load(self, tx: ReadModelTx) -> None:
        self._clear()
        for config_version, city, kind, site in tx.execute(
                f"SELECT * FROM {self.table('calibration_sites')}"):
            self.sites[(config_version, city, kind)] = site
        for station, day, high, rain, snow in tx.execute(
                f"SELECT * FROM {self.table('calibration_reports')}"):
            self.reports[(station, date.fromisoformat(day))] = (
                high, None if rain is None else Decimal(rain), None if snow is None else Decimal(snow))
        for ticker, event_ticker, result, value, settled_at in tx.execute(
                f"SELECT * FROM {self.table('calibration_settlements')}"):
            self.settlements[ticker] = _Settlement(event_ticker, result, value, from_text(settled_at))
        for event_ticker, lead, _decided_at, decision in tx.execute(
                f"SELECT * FROM {self.table('calibration_decisions')} "
                "ORDER BY event_ticker, lead_days"):
            self._remember(_READ.decode(decision))
            self.leads.setdefault(event_ticker, set()).add(lead)
        # Scores and buckets follow from the inputs; the tables already hold them.
        for key in sorted(self.decisions):
            self._rescore(key)
        self._forget_dirt()

    # -- folding --------------------------------------------------------------------------------

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        if isinstance(event, DecisionView):
            self._decision(event)
        elif isinstance(event, MarketSettled):
            self._settlement(event)
        elif isinstance(event, ClimateReportRecorded):
            self._report(event)
        elif isinstance(event, ConfigVersionRecorded):
            self._config(event)

    def _decision(self, decision: DecisionView) -> None:
        if decision.lead_days is None or not decision.probabilities:
            return
        key = (decision.event_ticker, decision.lead_days)
        known = self.decisions.get(key)
        if known is not None and decision.recorded_at < known.recorded_at:
            return  # recorded late, but made before the one we hold
        # Only what scoring reads is kept: the edges and orders are the ledger's business.
        self._remember(msgspec.structs.replace(decision, intended_orders=())
                       if decision.intended_orders else decision)
        self.leads.setdefault(decision.event_ticker, set()).add(decision.lead_days)
        self._dirty_decisions.add(key)
        self._rescore(key)

    def _remember(self, decision: DecisionView) -> None:
        assert decision.lead_days is not None
        key = (decision.event_ticker, decision.lead_days)
        old = self.decisions.get(key)
        if old is not None:
            self._by_config.get(old.config_version, set()).discard(key)
        self.decisions[key] = decision
        self._by_config.setdefault(decision.config_version, set()).add(key)

    def _settlement(self, event: MarketSettled) -> None:
        settlement = _Settlement(event.event_ticker, event.result, event.settlement_value,
                                 event.recorded_at)
        known = self.settlements.get(event.ticker)
        if known is not None and (known.result, known.settlement_value) == (
                settlement.result, settlement.settlement_value):
            return  # told twice; it settled once
        self.settlements[event.ticker] = settlement
        self._dirty_settlements.add(event.ticker)
        self._rescore_all((event.event_ticker, lead) for lead in self.leads.get(event.event_ticker, ()))

    def _report(self, event: ClimateReportRecorded) -> None:
        if event.preliminary or event.inconsistencies:
            return  # it never settles anything
        where = (event.station, event.climate_date)
        report = (event.max_temp_f, event.precip_month_in, event.snow_month_in)
        if self.reports.get(where) == report:
            return
        self.reports[where] = report
        self._dirty_reports.add(where)
        self._rescore_all(self._waiting.get(where, ()))

    def _config(self, event: ConfigVersionRecorded) -> None:
        try:
            config, _ = parse_config(event.content, source=event.source)
        except ConfigError:
            return
        for city in config.cities:
            for kind in MarketKind:
                source = city.source(kind)
                key = (event.config_version, city.code, kind.value)
                if source is not None and self.sites.get(key) != source.cli_site:
                    self.sites[key] = source.cli_site
                    self._dirty_sites.add(key)
        self._rescore_all(self._by_config.get(event.config_version, ()))

    # -- scoring --------------------------------------------------------------------------------

    def _rescore_all(self, keys: Iterable[Key]) -> None:
        for key in sorted(keys):
            self._rescore(key)

    def _settled_value(self, key: Key, decision: DecisionView) -> Decimal | None:
        """The value the decision's own config says settles it, indexing the ladder under the
        report it waits for."""
        waited = self._report_of.pop(key, None)
        if waited is not None:
            self._waiting[waited].discard(key)
        site = self.sites.get((decision.config_version, decision.city, decision.kind.value))
        day = _settles_on(decision.event_ticker)
        if site is None or day is None:
            return None
        self._report_of[key] = (site, day)
        self._waiting.setdefault((site, day), set()).add(key)
        report = self.reports.get((site, day))
        if report is None:
            return None
        high, rain, snow = report
        return settled_value(decision.kind, max_temp_f=high, precip_month_in=rain, snow_month_in=snow)

    def _rescore(self, key: Key) -> None:
        decision = self.decisions[key]
        for bucket, point in self._points.pop(key, []):
            del self.buckets[bucket][point]
            self._dirty_buckets.add(bucket)
        settled = self._settled_value(key, decision)
        row = None
        tickers = [b.ticker for b in decision.probabilities]
        if all(t in self.settlements for t in tickers):
            try:
                outcomes = {t: paid(self.settlements[t].result, self.settlements[t].settlement_value, t)
                            for t in tickers}
                score = score_ladder(whole_decision(decision), outcomes, settled)
            except NotScorable:
                score = None
            if score is not None:
                settled_at = max(self.settlements[t].settled_at for t in tickers)
                row = _score_row(score, decision, settled_at)
                self._add_points(key, score, outcomes)
        if self.scores.get(key) != row:
            if row is None:
                del self.scores[key]
            else:
                self.scores[key] = row
            self._dirty_scores.add(key)

    def _add_points(self, key: Key, score: LadderScore, outcomes: dict[str, bool]) -> None:
        points = []
        for rung in score.probabilities:
            bucket = (score.city, score.kind.value, score.lead_days, bucket_of(rung.probability))
            point = (key[0], key[1], rung.ticker)
            self.buckets.setdefault(bucket, {})[point] = (rung.probability, outcomes[rung.ticker])
            self._dirty_buckets.add(bucket)
            points.append((bucket, point))
        self._points[key] = points

    # -- writing --------------------------------------------------------------------------------

    def flush(self, tx: ReadModelTx) -> None:
        upsert(tx, self.table("calibration_settlements"), SETTLEMENT_COLUMNS, ("ticker",),
               [self.settlements[t].row(t) for t in sorted(self._dirty_settlements)])
        upsert(tx, self.table("calibration_decisions"), DECISION_COLUMNS, DECISION_COLUMNS[:2],
               [_decision_row(self.decisions[k]) for k in sorted(self._dirty_decisions)])
        upsert(tx, self.table("calibration_reports"), REPORT_COLUMNS, REPORT_COLUMNS[:2],
               [_report_row(w, self.reports[w]) for w in sorted(self._dirty_reports)])
        upsert(tx, self.table("calibration_sites"), SITE_COLUMNS, SITE_COLUMNS[:3],
               [(*k, self.sites[k]) for k in sorted(self._dirty_sites)])
        upsert(tx, self.table("forecast_scores"), SCORE_COLUMNS, SCORE_COLUMNS[:2],
               [self.scores[k] for k in sorted(self._dirty_scores) if k in self.scores])
        self._delete(tx, "forecast_scores", ("event_ticker", "lead_days"),
                     [k for k in sorted(self._dirty_scores) if k not in self.scores])
        live = [b for b in sorted(self._dirty_buckets) if self.buckets.get(b)]
        upsert(tx, self.table("reliability"), RELIABILITY_COLUMNS, RELIABILITY_COLUMNS[:4],
               [(*b, *_bucket_sums(self.buckets[b])) for b in live])
        gone = [b for b in sorted(self._dirty_buckets) if not self.buckets.get(b)]
        for b in gone:
            self.buckets.pop(b, None)
        self._delete(tx, "reliability", RELIABILITY_COLUMNS[:4], gone)
        self._forget_dirt()

    def _delete(self, tx: ReadModelTx, table: str, columns: Sequence[str],
                keys: Sequence[Sequence[object]]) -> None:
        if keys:
            tx.delete_rows(self.table(table), columns, keys)

    def _forget_dirt(self) -> None:
        for dirty in (self._dirty_settlements, self._dirty_decisions, self._dirty_reports,
                      self._dirty_sites, self._dirty_scores, self._dirty_buckets):
            dirty.clear()


#: A ladder's day, parsed from its ticker once (each ladder is decided many times).
_settles_on = functools.lru_cache(maxsize=4_096)(settles_on)


def _scores(scores: Scores | None) -> tuple[float | None, float | None, float | None]:
    return (None, None, None) if scores is None else (scores.brier, scores.log_loss, scores.rps)


def _score_row(score: LadderScore, decision: DecisionView, settled_at: datetime) -> Row:
    return (
        score.event_ticker, score.lead_days, score.city, score.kind.value,
        None if score.climate_date is None else score.climate_date.isoformat(),
        str(score.decision_id), to_text(decision.recorded_at), to_text(settled_at),
        *_scores(score.ours), *_scores(score.climatology), *_scores(score.market),
        score.forecast_value, None if score.settled_value is None else float(score.settled_value),
    )


def _decision_row(decision: DecisionView) -> Row:
    return (decision.event_ticker, decision.lead_days, to_text(decision.recorded_at),
            whole_decision(decision).model_dump_json())


def _report_row(where: tuple[str, date], report: _Report) -> Row:
    high, rain, snow = report
    return (where[0], where[1].isoformat(), high, None if rain is None else str(rain),
            None if snow is None else str(snow))


def _bucket_sums(points: dict[Point, tuple[float, bool]]) -> tuple[float, int, int]:
    return (math.fsum(p for p, _ in points.values()), sum(paid for _, paid in points.values()),
            len(points))
