"""The public app's OpenAPI 3.0 document, written by hand beside the answers it describes.

Objects forbid properties they do not list, so a field added to an answer without being documented
(or leaking into one) fails the schema checks in tests/api. City codes come from the configuration.
"""

from __future__ import annotations

from typing import Any

from domain.config import MilkbotConfig
from domain.events import MarketKind

MAX_TRADES = 500
DEFAULT_TRADES = 100
MAX_POINTS = 2_000
DEFAULT_POINTS = 720

Schema = dict[str, Any]


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def _object(properties: dict[str, Schema], *, nullable: bool = False) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "required": sorted(properties),
                      "additionalProperties": False}
    return _nullable(schema) if nullable else schema


TIME: Schema = {"type": "string", "format": "date-time"}
MONEY: Schema = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$",
                 "description": "dollars, rounded to the cent"}
PRICE: Schema = {"type": "string", "pattern": r"^[01]\.[0-9]{4}$",
                 "description": "dollars per contract (a YES price unless the side says NO)"}
CONTRACTS: Schema = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$",
                     "description": "contracts (fills can be fractional)"}
COUNT: Schema = {"type": "integer", "minimum": 0}
SHARE: Schema = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True}
NUMBER: Schema = {"type": "number", "nullable": True}
TEXT: Schema = {"type": "string"}

ENVELOPE: dict[str, Schema] = {
    "as_of": {**_nullable(TIME), "description": "the ledger clock this answer reflects (null: "
                                                  "an empty ledger)"},
    "delay_minutes": {"type": "integer", "minimum": 60,
                      "description": "nothing of ours younger than this is in any answer"},
}
PNL: dict[str, Schema] = {
    "pnl": MONEY, "realized": MONEY, "unrealized": MONEY, "fees": MONEY, "trades": COUNT,
    "open_positions": COUNT, "open_contracts": CONTRACTS, "settled_markets": COUNT,
    "winning_markets": COUNT, "win_rate": SHARE,
}
EXECUTION: dict[str, Schema] = {
    "orders": COUNT, "contracts_ordered": CONTRACTS, "contracts_filled": CONTRACTS,
    "fill_rate": NUMBER,
    "mean_slippage": {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{4}$", "nullable": True,
                      "description": "dollars per filled contract against the price we "
                                     "submitted; positive is worse for us"},
    "mean_seconds_to_first_fill": NUMBER,
}
POINT: dict[str, Schema] = {"ts": TIME, "equity": MONEY, "realized": MONEY, "unrealized": MONEY,
                            "fees": MONEY, "trades": COUNT}
SCORES: dict[str, Schema] = {"scored_ladders": COUNT, "brier": NUMBER, "climatology_brier": NUMBER,
                             "market_brier": NUMBER}
BUCKET = _object({"bucket": {"type": "integer", "minimum": 0, "maximum": 9},
                  "lower": {"type": "number"}, "upper": {"type": "number"}, "count": COUNT,
                  "mean_forecast": SHARE, "observed_frequency": SHARE})
KINDS = [k.value for k in MarketKind]
SIDE: Schema = {"type": "string", "enum": ["yes", "no"]}
#: A market's terms, as the venue gives them (Kalshi's ``strike_type``, ``floor_strike``,
#: ``cap_strike``): a ``T79`` ticker may be either tail, its strike type says which.
STRIKES: dict[str, Schema] = {
    "strike_type": {**_nullable(TEXT), "description": "Kalshi's strike type: `less` (below "
                    "cap_strike), `greater` (above floor_strike), `between` (floor_strike to "
                    "cap_strike, inclusive), ...; null when we never saw the market's terms"},
    "floor_strike": {**_nullable(TEXT), "description": "the lower strike, a decimal string"},
    "cap_strike": {**_nullable(TEXT), "description": "the upper strike, a decimal string"},
}
HOLDING: Schema = {**_object({
    "side": SIDE, "count": CONTRACTS,
    "average_price": {**PRICE, "description": "what the position cost per contract, on its side"},
    "unrealized": {**MONEY, "description": "the position at the market's mark less its cost"},
}, nullable=True), "description": "our open position in this market, counting only fills at "
                                  "least `delay_minutes` old; null: we hold none"}
CLOSED: Schema = {**_object({"side": SIDE, "count": CONTRACTS}, nullable=True),
                  "description": "what we held when it settled (the contracts the settlement "
                                 "closed), counting only fills at least `delay_minutes` old; "
                                 "null: we were flat at the close"}
MARKET = _object({
    "ticker": TEXT, "status": TEXT, **STRIKES, "yes_bid": _nullable(PRICE),
    "yes_ask": _nullable(PRICE), "mark": _nullable(PRICE), "close_time": _nullable(TIME),
    "position": HOLDING})
LADDER = _object({"event_ticker": TEXT, "kind": {"type": "string", "enum": KINDS},
                  "seen_at": TIME, "close_time": _nullable(TIME),
                  "markets": {"type": "array", "items": MARKET}})
SETTLEMENT = _object({
    "ticker": TEXT, **STRIKES,
    "result": {"type": "string", "enum": ["yes", "no", "scalar"],
               "description": "how the market settled (scalar: between YES and NO)"},
    "settled_at": TIME, "position": CLOSED,
    "pnl": {**MONEY, "description": "what the market made us, fees included"}})
TRADE = _object({"id": TEXT, "ts": {**TIME, "description": "when it was executed"}, "city": TEXT,
                 "ticker": TEXT, **STRIKES, "side": SIDE,
                 "action": {"type": "string", "enum": ["buy", "sell"]}, "price": PRICE,
                 "count": CONTRACTS, "fee": MONEY})
ERROR = _object({"error": TEXT})
HEALTH: Schema = {
    "type": "object", "required": ["status", "problems", "as_of"],
    "properties": {"status": {"type": "string", "enum": ["ok", "degraded", "down"]},
                   "problems": {"type": "array", "items": TEXT}, "as_of": TIME},
}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _get(summary: str, schema: Schema, parameters: list[Schema] | None = None) -> Schema:
    responses = {"200": _json(schema, summary),
                 "503": _json(ERROR, "the ledger database is unavailable")}
    if parameters:
        responses["400"] = _json(ERROR, "a parameter could not be read")
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": responses}}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def document(config: MilkbotConfig) -> Schema:
    cities = sorted(c.code for c in config.cities)
    city = _query("city", {"type": "string", "enum": cities}, "one city's code")
    since = _query("since", TIME, "only what happened at or after this time")
    until = _query("until", TIME, "only what happened at or before this time (never after the "
                                  "ledger clock less the delay)")
    city_answer = _object({"code": TEXT, "name": TEXT, "timezone": TEXT, "enabled": {"type": "boolean"},
                           **PNL, "ladders": {"type": "array", "items": LADDER},
                           "recent_settlements": {"type": "array", "items": SETTLEMENT}})
    scores_answer = _object({"code": TEXT, "name": TEXT, **SCORES,
                             "reliability": {"type": "array", "items": BUCKET}})
    return {
        "openapi": "3.0.3",
        "info": {"title": "Milkbot public API", "version": "1",
                 "description": "Read-only and delayed: every fill and order of ours appears only "
                                "once it is at least `delay_minutes` old by the ledger clock "
                                "(`as_of`). Money is in dollars, as decimal strings."},
        "paths": {
            "/api/public/summary": _get("Headline performance", _object({
                **ENVELOPE, "equity": {**MONEY, "description": "what trading made: realized and "
                                                              "unrealized P&L less fees"},
                "day_start": {**_nullable(TIME), "description": "00:00 UTC of as_of's day"},
                "daily_pnl": {**MONEY, "description": "equity now less the curve at day_start"},
                "peak_equity": MONEY, "drawdown": MONEY, "max_drawdown": MONEY, **PNL,
                "execution": _object(EXECUTION),
                "ledger": {**_object({
                    "position": {**COUNT, "description": "the record's place in the ledger"},
                    "hash": {**TEXT, "description": "the hash chain's SHA-256 (hex) at that "
                                                    "record: it seals every record up to it"},
                    "recorded_at": {**TIME, "description": "when that record was written"},
                }, nullable=True), "description": "the ledger's hash chain at its newest record "
                   "at least `delay_minutes` older than `as_of`: keep it, and a later copy of the "
                   "ledger must give the same hash there (`milkbot replay verify`); null before "
                   "the first"}})),
            "/api/public/cities": _get(
                "The cities: markets (with our delayed positions), P&L, settlements",
                _object({**ENVELOPE, "cities": {"type": "array", "items": city_answer}})),
            "/api/public/trades": _get("Our trades, newest first", _object({
                **ENVELOPE, "trades": {"type": "array", "items": TRADE},
                "next_cursor": _nullable(TEXT)}), [
                _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_TRADES,
                                 "default": DEFAULT_TRADES}, "how many trades"),
                _query("cursor", {"type": "string", "maxLength": 200},
                       "the next_cursor of the previous page"),
                since, until, city]),
            "/api/public/equity": _get("The hourly equity curve", _object({
                **ENVELOPE,
                "points": {"type": "array", "items": _object(POINT), "description": (
                    "oldest first, one per UTC hour at most, written only where the equity "
                    "moved (it holds its value until the next point). A point at hour H is the "
                    "equity as of H: every event up to and including H and every fill at least "
                    "`delay_minutes` old at H. A point is written once the ledger clock has "
                    "passed its hour, so every point is older than `current`, and the point at "
                    "H is what `current` said when `as_of` was H")},
                "current": {**_object(POINT, nullable=True), "description": (
                    "the equity as of `as_of` (the summary's); null: an empty ledger")}}), [
                _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_POINTS,
                                 "default": DEFAULT_POINTS}, "the latest this many points"),
                since, until]),
            "/api/public/calibration": _get("Reliability and Brier scores by city", _object({
                **ENVELOPE, "overall": _object({**SCORES, "reliability": {"type": "array",
                                                                          "items": BUCKET}}),
                "cities": {"type": "array", "items": scores_answer}}), [
                city, _query("kind", {"type": "string", "enum": KINDS}, "one market kind")]),
            "/api/public/execution": _get("Execution quality", _object({
                **ENVELOPE, "all": _object(EXECUTION),
                "cities": {"type": "array", "items": _object({"code": TEXT, "name": TEXT,
                                                              **EXECUTION})}})),
            "/": {"get": {"summary": "The dashboard", "responses": {"200": {
                "description": "the dashboard page",
                "content": {"text/html": {"schema": {"type": "string"}}}}}}},
            "/healthz": {"get": {"summary": "Is Milkbot up, fresh and trading", "responses": {
                "200": _json(HEALTH, "ok or degraded"), "503": _json(HEALTH, "down")}}},
        },
    }
