"""The few METAR groups Milkbot reads from an observation's ``rawMessage``.

api.weather.gov decodes most of a METAR into JSON, but it drops or rounds the groups a daily-high
market cares about, so we read them from the text (FMH-1 chapter 12):

    body      ``26/23``, ``M05/M12``   temperature / dew point in whole degrees C (``M`` = minus)
    remarks   ``T02560228``            the same to a tenth of a degree; sign digit 1 = negative
              ``10244`` / ``20228``    6-hour maximum / minimum (1snTTT / 2snTTT, tenths of a degree)
              ``400461006``            24-hour maximum and minimum (4snTxTxTxsnTnTnTn)
              ``P0012``                precipitation in the last hour, hundredths of an inch
                                       (``P0000`` is a trace, which counts as 0)

Everything here is a pure function of the text. A group that is absent or malformed is ``None``;
nothing in a METAR, however odd, makes this module raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: An ICAO station id, optionally after the report type, then the day-hour-minute group.
_HEADER = re.compile(r"^(?:(?P<kind>METAR|SPECI)\s+)?(?P<station>[A-Z][A-Z0-9]{3})\s+"
                     r"(?P<day>\d{2})(?P<hour>\d{2})(?P<minute>\d{2})Z\b")
_BODY_TEMPERATURE = re.compile(r"(?P<t>M?\d{2})/(?P<d>M?\d{2})?")
_T_GROUP = re.compile(r"T(?P<ts>[01])(?P<t>\d{3})(?:(?P<ds>[01])(?P<d>\d{3}))?")
_MAX_6H = re.compile(r"1(?P<s>[01])(?P<v>\d{3})")
_MIN_6H = re.compile(r"2(?P<s>[01])(?P<v>\d{3})")
_EXTREMES_24H = re.compile(r"4(?P<xs>[01])(?P<x>\d{3})(?P<ns>[01])(?P<n>\d{3})")
_PRECIP_1H = re.compile(r"P(?P<v>\d{4})")


@dataclass(frozen=True)
class MetarReport:
    """What one METAR says about temperature and hourly precipitation. ``None`` = not reported."""

    station: str
    is_speci: bool
    day: int
    hour: int
    minute: int
    #: The body's whole-degree temperature and dew point (°C).
    body_temperature_c: int | None = None
    body_dewpoint_c: int | None = None
    #: The remarks' T-group, to a tenth of a degree (°C).
    precise_temperature_c: float | None = None
    precise_dewpoint_c: float | None = None
    max_6h_c: float | None = None
    min_6h_c: float | None = None
    max_24h_c: float | None = None
    min_24h_c: float | None = None
    precip_1h_in: float | None = None

    @property
    def temperature_c(self) -> float | None:
        """The T-group when present (a tenth of a degree), else the body's whole degree."""
        if self.precise_temperature_c is not None:
            return self.precise_temperature_c
        return None if self.body_temperature_c is None else float(self.body_temperature_c)

    @property
    def temperature_f(self) -> float | None:
        return celsius_to_fahrenheit(self.temperature_c)

    @property
    def max_6h_f(self) -> float | None:
        return celsius_to_fahrenheit(self.max_6h_c)

    @property
    def min_6h_f(self) -> float | None:
        return celsius_to_fahrenheit(self.min_6h_c)

    @property
    def max_24h_f(self) -> float | None:
        return celsius_to_fahrenheit(self.max_24h_c)

    @property
    def min_24h_f(self) -> float | None:
        return celsius_to_fahrenheit(self.min_24h_c)


def celsius_to_fahrenheit(celsius: float | None) -> float | None:
    # Rounded to 2 places only to strip float noise (25.6 °C is 78.08 °F, not 78.08000000000001);
    # a tenth of a degree C is 0.18 °F, so nothing measured is lost.
    return None if celsius is None else round(celsius * 9 / 5 + 32, 2)


def parse_metar(raw: object) -> MetarReport | None:
    """Reads ``raw`` as a METAR; ``None`` when it is not one (empty, not text, no station/time)."""
    if not isinstance(raw, str):
        return None
    text = " ".join(raw.split()).upper()
    header = _HEADER.match(text)
    if header is None:
        return None
    body, _, remarks = text.partition(" RMK ")
    if text.endswith(" RMK"):
        body, remarks = text[: -len(" RMK")], ""
    body_tokens = body.split()[1:]  # the first token is the station or the report type
    remark_tokens = remarks.split()

    body_t, body_d = _body_temperature(body_tokens)
    precise_t, precise_d = _t_group(remark_tokens)
    max_24h, min_24h = _extremes_24h(remark_tokens)
    return MetarReport(
        station=header["station"],
        is_speci=header["kind"] == "SPECI",
        day=int(header["day"]),
        hour=int(header["hour"]),
        minute=int(header["minute"]),
        body_temperature_c=body_t,
        body_dewpoint_c=body_d,
        precise_temperature_c=precise_t,
        precise_dewpoint_c=precise_d,
        max_6h_c=_signed_tenths_group(_MAX_6H, remark_tokens),
        min_6h_c=_signed_tenths_group(_MIN_6H, remark_tokens),
        max_24h_c=max_24h,
        min_24h_c=min_24h,
        precip_1h_in=_precip_1h(remark_tokens),
    )


def _tenths(sign: str, digits: str) -> float:
    value = int(digits) / 10
    return -value if sign == "1" else value


def _whole(text: str) -> int:
    return -int(text[1:]) if text.startswith("M") else int(text)


def _body_temperature(tokens: list[str]) -> tuple[int | None, int | None]:
    for token in tokens:
        match = _BODY_TEMPERATURE.fullmatch(token)
        if match:
            dew = match["d"]
            return _whole(match["t"]), (None if dew is None else _whole(dew))
    return None, None


def _t_group(tokens: list[str]) -> tuple[float | None, float | None]:
    for token in tokens:
        match = _T_GROUP.fullmatch(token)
        if match:
            dew = None if match["d"] is None else _tenths(match["ds"], match["d"])
            return _tenths(match["ts"], match["t"]), dew
    return None, None


def _signed_tenths_group(pattern: re.Pattern[str], tokens: list[str]) -> float | None:
    # A remark token of exactly five digits starting 1 or 2 is only ever the 6-hour max/min group.
    for token in tokens:
        match = pattern.fullmatch(token)
        if match:
            return _tenths(match["s"], match["v"])
    return None


def _extremes_24h(tokens: list[str]) -> tuple[float | None, float | None]:
    for token in tokens:
        match = _EXTREMES_24H.fullmatch(token)
        if match:
            return _tenths(match["xs"], match["x"]), _tenths(match["ns"], match["n"])
    return None, None


def _precip_1h(tokens: list[str]) -> float | None:
    for token in tokens:
        match = _PRECIP_1H.fullmatch(token)
        if match:
            return int(match["v"]) / 100
    return None
