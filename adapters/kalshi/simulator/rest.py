"""What every REST handler of the simulator shares: errors, query and body readers, pagination."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse

from adapters.kalshi.simulator.catalog import EventDef, MarketDef
from adapters.kalshi.simulator.wire import error_json, market_json
from domain.money import BadFixedPoint, count_from_fp

if TYPE_CHECKING:
    from adapters.kalshi.simulator.app import Simulator

T = TypeVar("T")


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "bad_request", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_json(code, message), status_code=status)


# --- query parameters ----------------------------------------------------------------------------

def flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false")
    return value == "true"


def integer(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


def text(request: Request, name: str) -> str | None:
    """A query parameter, ``None`` when absent or empty."""
    return request.query_params.get(name) or None


def paginate(request: Request, items: list[T], default: int, maximum: int) -> tuple[list[T], str]:
    """One page of ``items`` and the cursor of the next ('' when this is the last)."""
    limit = integer(request, "limit") or default
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit must be between 1 and {maximum}")
    start = 0
    cursor = request.query_params.get("cursor", "")
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("o:"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadRequest("cursor is not one this exchange issued") from None
    end = start + limit
    following = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], following


def in_window(ts_ms: int, request: Request) -> bool:
    """Whether an instant passes the ``min_ts``/``max_ts`` filters (Unix seconds)."""
    min_ts, max_ts = integer(request, "min_ts"), integer(request, "max_ts")
    return (min_ts is None or ts_ms >= min_ts * 1000) and (max_ts is None or ts_ms <= max_ts * 1000)


# --- JSON bodies ---------------------------------------------------------------------------------

async def json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def field(body: dict[str, Any], name: str, kind: type[T], default: T | None = None) -> T:
    value = body.get(name, default)
    if value is None:
        raise BadRequest(f"{name} is required", "missing_parameters")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"{name} must be a {kind.__name__}", "invalid_parameters")
    return value


def optional(body: dict[str, Any], name: str, kind: type[T]) -> T | None:
    return None if body.get(name) is None else field(body, name, kind)


def count_field(body: dict[str, Any], name: str) -> int | None:
    """An optional ``FixedPointCount`` string, in 1/100 contract."""
    raw = optional(body, name, str)
    if raw is None:
        return None
    try:
        return count_from_fp(raw)
    except BadFixedPoint as e:
        raise BadRequest(str(e), "invalid_parameters") from None


# --- shared bodies -------------------------------------------------------------------------------

def market_body(sim: Simulator, event: EventDef, market: MarketDef) -> dict[str, Any]:
    now = sim.now()
    sim.makers.refresh(event, market, now)
    result = sim.catalog.outcome(event, market) if event.status(now) == "finalized" else None
    return market_json(event, market, now, sim.exchange.books.get(market.ticker),
                       sim.exchange.stats.get(market.ticker), result)
