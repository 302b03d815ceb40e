"""``milkbot status``: positions, P&L and projection freshness, read from the projections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.money import COUNT_SCALE, money_to_dollars
from eventstore.backend import ReadModelTx
from milkbot.bootstrap import Milkbot
from projections.runner import ensure_tracking_table, read_position


def contracts(count: int) -> int | float:
    """Signed contracts for display: whole numbers stay ints, fractions keep their 2 decimals."""
    whole, part = divmod(abs(count), COUNT_SCALE)
    if part == 0:
        return whole if count >= 0 else -whole
    return float(Decimal(count) / COUNT_SCALE)


def read_status(app: Milkbot) -> dict[str, Any]:
    ledger_position = app.ledger.store.max_position()
    with app.ledger.backend.transaction() as tx:
        ensure_tracking_table(tx)
        projections = {}
        for projection in app.projections:
            projection.create_tables(tx)
            projections[projection.name] = read_position(tx, projection)
        positions = tx.execute("SELECT ticker, city, position, realized, unrealized, fees "
                               "FROM proj_positions WHERE position <> 0 ORDER BY ticker")
        pnl = _pnl(tx)
        clock = tx.execute("SELECT as_of FROM proj_public_clock WHERE name = 'ledger'")
    return {
        "trading": _trading(app),
        "backend": app.ledger.store.backend_name,
        "ledger": app.ledger.url,
        "events": ledger_position,
        "projections": {name: {"position": pos, "behind": ledger_position - pos}
                        for name, pos in projections.items()},
        "ledger_clock": clock[0][0] if clock else None,
        "positions": [
            {"ticker": t, "city": c, "position": contracts(p),
             "realized": str(money_to_dollars(r)), "unrealized": str(money_to_dollars(u)),
             "fees": str(money_to_dollars(f))}
            for t, c, p, r, u, f in positions
        ],
        "pnl": pnl,
    }


def _pnl(tx: ReadModelTx) -> dict[str, dict[str, str]]:
    rows = tx.execute("SELECT scope, realized, unrealized, fees FROM proj_pnl ORDER BY scope")
    return {scope: {"realized": str(money_to_dollars(r)), "unrealized": str(money_to_dollars(u)),
                    "fees": str(money_to_dollars(f))} for scope, r, u, f in rows}


def _trading(app: Milkbot) -> dict[str, Any]:
    """The whole book's trading state and every city not trading freely, with the reason."""
    from datetime import UTC, datetime

    from domain.risk.state import ALL
    from milkbot.operator import trading_states

    states = trading_states(app.ledger.store)
    now = datetime.now(UTC)
    cities = sorted({scope.removeprefix("city:") for scope in states.standing if scope != ALL}
                    | {city for city, _ in states.breakers})
    held = {city: {"state": states.state_for(city, now).value, "why": states.why(city, now)}
            for city in cities}
    return {"state": states.scope_state(ALL, now).value,
            "cities": {c: v for c, v in held.items() if v["state"] != "active"}}

