"""Series, events and markets for the configured cities, derived from the simulated weather.

Everything is a pure function of the config, the weather truth and a ticker (or the clock, for which
events are listed), so nothing here needs persisting:

* **Daily high** (``KXHIGHNY-26AUG28``): six mutually exclusive markets, a ``less`` tail
  (``T{L}``: high < L), four inclusive 2 °F ``between`` bins (``B{L+0.5}``: L..L+1, ...) and a
  ``greater`` tail (``T{L+7}``: high > L+7), centred on the forecast issued when the event opened.
  It opens at 10:00 local standard time the day before and closes at the end of the climate day
  (local standard midnight); it settles ``SETTLE_DELAY`` later, when the final CLI would be out.
* **Monthly rain / snow** (``KXRAINNYCM-26AUG``): cumulative ``greater`` markets ("more than X
  inches", ``-{X}``), with strikes scaled from the month's normal; a trace counts as zero.

The weather is injected (``WeatherTruth``): the Kalshi adapter never imports the NWS adapter, and
the wiring passes the NWS simulator's ``WeatherGenerator``, which satisfies this protocol.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, Protocol

from domain.climate_day import climate_day_of, climate_day_start
from domain.config import CityConfig, MilkbotConfig

Kind = Literal["high", "rain", "snow"]
SETTLE_DELAY = timedelta(hours=9)
OPEN_LEAD = timedelta(hours=14)  # 10:00 standard time the day before
DAILY_WINDOW = (-2, 1)  # climate days listed around today's
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_RAIN_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
_SNOW_FACTORS = (0.25, 0.5, 1.0, 1.5, 2.0)
_MIN_SNOW_NORMAL_IN = 0.3  # months with less normal snow list no snow event


class _Day(Protocol):
    @property
    def max_f(self) -> int: ...


class _Forecast(Protocol):
    @property
    def high_f(self) -> float: ...


class WeatherTruth(Protocol):
    """What the catalog needs of the simulated weather (``WeatherGenerator`` provides it)."""

    def day(self, code: str, day: date) -> _Day: ...

    def forecast(self, code: str, issued_at: datetime, target: date) -> _Forecast: ...

    def month_to_date(self, code: str, day: date) -> tuple[int, bool, int, bool]: ...


@dataclass(frozen=True)
class SeriesDef:
    ticker: str
    city: CityConfig
    kind: Kind


@dataclass(frozen=True)
class MarketDef:
    ticker: str
    event_ticker: str
    strike_type: Literal["less", "between", "greater"]
    floor: float | None
    cap: float | None
    yes_sub_title: str
    no_sub_title: str


@dataclass(frozen=True)
class EventDef:
    ticker: str
    series: SeriesDef
    #: The climate day (daily high) or the month's last day (monthly).
    day: date
    open_time: datetime
    close_time: datetime
    markets: tuple[MarketDef, ...]

    @property
    def settle_time(self) -> datetime:
        return self.close_time + SETTLE_DELAY

    @property
    def city(self) -> CityConfig:
        return self.series.city

    def status(self, now: datetime) -> str:
        if now < self.open_time:
            return "initialized"
        if now < self.close_time:
            return "active"
        return "closed" if now < self.settle_time else "finalized"


def _strike(value: float) -> str:
    return f"{value:g}"


class Catalog:
    def __init__(self, config: MilkbotConfig, weather: WeatherTruth) -> None:
        self.weather = weather
        self._series: dict[str, SeriesDef] = {}
        for city in config.enabled_cities:
            for kind, source in (("high", city.daily_high), ("rain", city.monthly_rain),
                                 ("snow", city.monthly_snow)):
                if source is not None:
                    self._series[source.series] = SeriesDef(source.series, city, kind)  # type: ignore[arg-type]
        self._events: dict[str, EventDef] = {}

    def series(self) -> list[SeriesDef]:
        return list(self._series.values())

    def one_series(self, ticker: str) -> SeriesDef | None:
        return self._series.get(ticker)

    # -- events -------------------------------------------------------------------------------

    def events(self, now: datetime, series_ticker: str | None = None) -> list[EventDef]:
        """The events listed at ``now``: a few climate days around today, this month and last."""
        out: list[EventDef] = []
        for series in self._series.values():
            if series_ticker is not None and series.ticker != series_ticker:
                continue
            today = climate_day_of(series.city.timezone, now)
            if series.kind == "high":
                days = [today + timedelta(days=d) for d in range(DAILY_WINDOW[0], DAILY_WINDOW[1] + 1)]
                tickers = [f"{series.ticker}-{d:%y}{MONTHS[d.month - 1]}{d:%d}" for d in days]
            else:
                previous = today.replace(day=1) - timedelta(days=1)
                tickers = [f"{series.ticker}-{m:%y}{MONTHS[m.month - 1]}" for m in (previous, today)]
            out += [e for t in tickers if (e := self.event(t)) is not None]
        return out

    def events_settling(self, start: datetime, end: datetime,
                        series_ticker: str | None = None) -> list[EventDef]:
        """The events that settle in ``[start, end)``, latest first (for the archive's listing)."""
        out: list[EventDef] = []
        for series in self._series.values():
            if series_ticker is not None and series.ticker != series_ticker:
                continue
            # a climate day settles SETTLE_DELAY after its end: look a little either side
            first = climate_day_of(series.city.timezone, start) - timedelta(days=2)
            last = climate_day_of(series.city.timezone, end)
            days = [first + timedelta(days=d) for d in range((last - first).days + 1)]
            if series.kind == "high":
                tickers = [f"{series.ticker}-{d:%y}{MONTHS[d.month - 1]}{d:%d}" for d in days]
            else:
                months = dict.fromkeys((d.year, d.month) for d in days)
                tickers = [f"{series.ticker}-{y % 100:02d}{MONTHS[m - 1]}" for y, m in months]
            out += [e for t in tickers if (e := self.event(t)) is not None
                    and start <= e.settle_time < end]
        return sorted(out, key=lambda e: (e.settle_time, e.ticker), reverse=True)

    def event(self, ticker: str) -> EventDef | None:
        if ticker in self._events:
            return self._events[ticker]
        series_ticker, _, date_part = ticker.partition("-")
        series = self._series.get(series_ticker)
        match = re.fullmatch(r"(\d\d)([A-Z]{3})(\d\d)?", date_part)
        if series is None or match is None or match.group(2) not in MONTHS:
            return None
        year, month = 2000 + int(match.group(1)), MONTHS.index(match.group(2)) + 1
        try:
            if series.kind == "high" and match.group(3):
                event = self._daily(series, ticker, date(year, month, int(match.group(3))))
            elif series.kind != "high" and not match.group(3):
                event = self._monthly(series, ticker, year, month)
            else:
                return None
        except ValueError:
            return None
        if len(self._events) > 5_000:
            self._events.clear()
        self._events[ticker] = event
        return event

    def market(self, ticker: str) -> tuple[EventDef, MarketDef] | None:
        event = self.event(ticker.rpartition("-")[0])
        if event is None:
            return None
        for market in event.markets:
            if market.ticker == ticker:
                return event, market
        return None

    def _daily(self, series: SeriesDef, ticker: str, day: date) -> EventDef:
        zone = series.city.timezone
        close = climate_day_start(zone, day + timedelta(days=1))
        opened = climate_day_start(zone, day) - OPEN_LEAD
        centre = round(self.weather.forecast(series.city.code, opened, day).high_f)
        low = centre - 3
        markets = [MarketDef(f"{ticker}-T{low}", ticker, "less", None, float(low),
                             f"{low - 1}° or below", f"{low}° or above")]
        for lo in range(low, low + 8, 2):
            markets.append(MarketDef(f"{ticker}-B{lo + 0.5:g}", ticker, "between", float(lo),
                                     float(lo + 1), f"{lo}° to {lo + 1}°", f"not {lo}° to {lo + 1}°"))
        top = low + 7
        markets.append(MarketDef(f"{ticker}-T{top}", ticker, "greater", float(top), None,
                                 f"{top + 1}° or above", f"{top}° or below"))
        return EventDef(ticker, series, day, opened, close, tuple(markets))

    def _monthly(self, series: SeriesDef, ticker: str, year: int, month: int) -> EventDef:
        normals = series.city.normals
        normal = (normals.precip_in if series.kind == "rain" else normals.snow_in)[month - 1]
        if series.kind == "snow" and normal < _MIN_SNOW_NORMAL_IN:
            raise ValueError("no snow event this month")
        factors = _RAIN_FACTORS if series.kind == "rain" else _SNOW_FACTORS
        strikes = sorted({max(0.1, round(normal * f, 1)) for f in factors})
        last = date(year, month, calendar.monthrange(year, month)[1])
        zone = series.city.timezone
        opened = climate_day_start(zone, date(year, month, 1)) - OPEN_LEAD
        close = climate_day_start(zone, last + timedelta(days=1))
        unit = "inches of rain" if series.kind == "rain" else "inches of snow"
        markets = tuple(MarketDef(f"{ticker}-{_strike(x)}", ticker, "greater", x, None,
                                  f"Above {_strike(x)} {unit}", f"{_strike(x)} {unit} or less")
                        for x in strikes)
        return EventDef(ticker, series, last, opened, close, markets)

    # -- truth --------------------------------------------------------------------------------

    def outcome(self, event: EventDef, market: MarketDef) -> str:
        """``"yes"`` or ``"no"``, from the weather truth (call only once the event has closed)."""
        code = event.city.code
        if event.series.kind == "high":
            value: float = self.weather.day(code, event.day).max_f
        else:
            rain, _, snow, _ = self.weather.month_to_date(code, event.day)
            value = rain / 100 if event.series.kind == "rain" else snow / 10
        return "yes" if wins(market, value) else "no"


def wins(market: MarketDef, value: float) -> bool:
    if market.strike_type == "less":
        return market.cap is not None and value < market.cap
    if market.strike_type == "greater":
        return market.floor is not None and value > market.floor
    return market.floor is not None and market.cap is not None and market.floor <= value <= market.cap
