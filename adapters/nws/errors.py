"""Errors of the NWS adapter, translated at this boundary (``raise NwsUnavailable(...) from e``).

    NwsError
    ├── NwsUnavailable         the API could not be reached, timed out, or answered 5xx / an HTML
    │                          error page after the retries
    ├── NwsProblem             the API answered a problem+json error (status, type, title, detail,
    │                          correlationId)
    │   └── ForecastGridExpired   the forecast grid is expired: the data is stale, not missing
    ├── StaleData              a payload is older than its freshness limit (updateTime /
    │                          generatedAt / observation timestamp)
    ├── MalformedPayload       JSON that does not parse or does not have the spec's shape, or an
    │                          empty payload where data was required
    └── ClimateReportError     a CLI report that cannot be trusted as a settlement value
        ├── TruncatedReport    the text ends before the values the parser needs
        └── WrongReport        a report for another station or another climate day than asked

None of them carries a secret; messages name the URL path and what was wrong, never echo a whole
payload.
"""

from __future__ import annotations


class NwsError(Exception):
    """Base of every NWS adapter error."""


class NwsUnavailable(NwsError):
    pass


class NwsProblem(NwsError):
    def __init__(self, status: int, title: str, detail: str = "", *, type_: str = "",
                 correlation_id: str | None = None, path: str = "") -> None:
        where = f" for {path}" if path else ""
        super().__init__(f"NWS answered {status} {title}{where}: {detail}".rstrip(": ")
                         + (f" (correlationId {correlation_id})" if correlation_id else ""))
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.correlation_id = correlation_id
        self.path = path


class ForecastGridExpired(NwsProblem):
    pass


class StaleData(NwsError):
    pass


class MalformedPayload(NwsError):
    pass


class ClimateReportError(NwsError):
    pass


class TruncatedReport(ClimateReportError):
    pass


class WrongReport(ClimateReportError):
    pass
