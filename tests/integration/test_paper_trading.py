"""Paper trading on the simulators: the whole order path, with fills from the paper model and
nothing sent to the exchange; a restart rebuilds the paper account from the ledger alone."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from domain.events import (
    AlertRaised,
    EquityMarked,
    MarketSettled,
    OrderFilled,
    OrderSubmitted,
    ReconciliationCompleted,
    RiskLimitBreached,
)
from eventstore.chain import verify_chain
from milkbot.handler import CommandHandler
from milkbot.paper import PaperVenue, paper_order_id
from replay.decisions import replay_all
from tests.integration.test_handler import START, handler_on_simulators
from tests.integration.test_kalshi_simulator import config


def test_paper_trading_fills_settles_and_sends_nothing(tmp_path: Path) -> None:
    with handler_on_simulators(tmp_path, paper=True) as (bot, clock, seen, account, *_):
        bot.start()
        while clock.now < START + timedelta(hours=36):
            bot.step()
            clock.now += timedelta(hours=1)
        bot.step()
        kinds = Counter(type(e).__name__ for e in seen)

        assert kinds["OrderSubmitted"] > 0 and kinds["OrderFilled"] > 0, kinds
        assert any(isinstance(e, MarketSettled) for e in seen), kinds
        venue_ids = {e.venue_order_id for e in seen if isinstance(e, OrderFilled)}
        submitted = [e for e in seen if isinstance(e, OrderSubmitted)]
        assert venue_ids <= {paper_order_id(e.client_order_id) for e in submitted}
        # Nothing reached the exchange: its account has no order and no fill.
        assert account.orders() == [] and account.fills() == []
        reconciliations = [e for e in seen if isinstance(e, ReconciliationCompleted)]
        assert len(reconciliations) >= 5
        assert all(r.position_mismatches == () and r.unknown_orders == 0 for r in reconciliations)
        # Equity reads fresh cash each step: a stale balance once showed a 12% drawdown at the start.
        assert not any(isinstance(e, RiskLimitBreached) for e in seen)
        errors = [e for e in seen if isinstance(e, AlertRaised) and e.kind == "cycle_error"]
        assert errors == [], errors[0].context.get("traceback") if errors else ""

        # Every decision replays to the same bytes, and the log's hash chain holds.
        replayed = list(replay_all(bot.store))
        assert len(replayed) == kinds["DecisionMade"] and all(r.ok for r in replayed), \
            next(r.differences() for r in replayed if not r.ok)
        bot.sealer.seal()
        chain = verify_chain(bot.app.ledger)
        assert chain.ok and chain.unsealed == 0 and chain.sealed == bot.store.max_position()

        # A restart: a new venue knows only what the ledger says, and agrees with it.
        assert bot.paper is not None
        before = bot.paper.balance().balance
        resting = sorted(o.client_order_id for o in bot.paper.orders_by_id.values() if o.remaining)
        marks = [e for e in seen if isinstance(e, EquityMarked)]
        assert marks and all(m.equity == m.cash + m.positions_value for m in marks)
        seen.clear()
        again = CommandHandler(bot.app, config(), bot.version, clock=clock, kalshi=bot.kalshi, nws=bot.nws,
                               on_event=seen.append, venue=PaperVenue(bot.kalshi, clock,
                                                                      starting_balance=bot.paper.starting_balance))
        assert again.paper is not None
        assert again.equity.last == (marks[-1].recorded_at, marks[-1].equity)  # drawdown carries on
        assert again.paper.balance().balance == before
        assert sorted(o.client_order_id for o in again.paper.orders_by_id.values() if o.remaining) == resting
        again.start()
        startup = [e for e in seen if isinstance(e, ReconciliationCompleted)]
        assert len(startup) == 1
        first = startup[0]
        assert (first.fills_added, first.position_mismatches, first.unknown_orders) == (0, (), 0)
        assert first.venue_balance == before
