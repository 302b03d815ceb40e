"""problem+json error bodies (RFC 7807) read as :class:`NwsProblem`, telling an expired forecast
grid apart."""

from __future__ import annotations

import math
import re
from typing import Any

from adapters.nws.errors import ForecastGridExpired, NwsProblem


def problem_from_json(payload: Any, *, status: int, path: str = "",
                      correlation_id: str | None = None) -> NwsProblem:
    """A problem+json body (RFC 7807) as :class:`NwsProblem`, or :class:`ForecastGridExpired` when
    its ``type`` or ``title`` says the forecast grid expired. ``correlation_id`` (from the
    ``X-Correlation-Id`` header) is used when the body has none."""
    body = payload if isinstance(payload, dict) else {}

    def text(key: str) -> str:
        value = body.get(key)
        return value if isinstance(value, str) else ""

    body_status = body.get("status")
    if isinstance(body_status, int | float) and not isinstance(body_status, bool) \
            and math.isfinite(body_status) and 100 <= body_status <= 999:
        status = int(body_status)
    type_, title = text("type"), text("title") or "error"
    cls = ForecastGridExpired if is_forecast_grid_expired(type_, title) else NwsProblem
    return cls(status, title, text("detail"), type_=type_,
               correlation_id=text("correlationId") or correlation_id, path=path)


def is_forecast_grid_expired(type_: str, title: str) -> bool:
    # type is a URI such as https://api.weather.gov/problems/ForecastGridExpired; title reads
    # "Forecast Grid Expired".
    last = re.split(r"[/:#]", type_.rstrip("/"))[-1]
    return last == "ForecastGridExpired" or title.replace(" ", "").lower() == "forecastgridexpired"
