"""A trading process for the chaos test: decisions through the order manager against the exchange
simulator, pausing at each checkpoint until the test says ``go`` (or kills it with SIGKILL).

    python -m tests.chaos.driver --ledger PATH --url URL --key-file PEM --now ISO --decisions N

Each decision ``i`` is deterministic: its id, its legs (an immediate-or-cancel buy at the ask and,
for every third, a resting post-only bid) and their client order ids. A restarted driver walks the
same decisions again; the order manager sends only what the ledger does not know. ``--reconcile``
only reconciles. Prints ``DONE`` at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.rate_limit import Backoff, RateLimiter
from adapters.kalshi.signing import load_credentials
from domain.book import best_bid, yes_ask
from domain.decision import client_order_id
from domain.events import Action, IntendedOrder, Side, deterministic_id
from eventstore import open_ledger
from milkbot.orders import OrderManager

EVENT = "KXHIGHNY-26JAN20"


def checkpoint(point: str, key: str) -> None:
    sys.stdout.write(f"AT {point} {key}\n")
    sys.stdout.flush()
    if sys.stdin.readline().strip() != "go":
        raise SystemExit(3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("--now", type=datetime.fromisoformat, required=True)
    parser.add_argument("--decisions", type=int, default=40)
    parser.add_argument("--reconcile", action="store_true")
    args = parser.parse_args()
    signed_at = int(args.now.timestamp() * 1000)
    with open_ledger(f"sqlite:///{args.ledger}") as ledger, KalshiClient(
            args.url, load_credentials("chaos", args.key_file), timeout=5, now_ms=lambda: signed_at,
            limiter=RateLimiter(reads_per_second=1000, writes_per_second=1000),
            read_backoff=Backoff(base=0, attempts=2)) as client:
        # Our clock moves on from the last recorded event, so runs after a restart are later ones.
        last = max((r.event.recorded_at for r in ledger.store.iter_events()), default=args.now)
        base, started = max(last, args.now) + timedelta(seconds=1), time.monotonic()

        def clock() -> datetime:
            return base + timedelta(seconds=time.monotonic() - started)

        oms = OrderManager(ledger.store, client, clock, checkpoint=checkpoint,
                           in_flight_grace=timedelta(0))
        oms.reconcile("startup")
        if not args.reconcile:
            markets = [m.ticker for m in client.event(EVENT).markets]
            for i in range(args.decisions):
                decision = deterministic_id("chaos decision", i)
                ticker = markets[i % len(markets)]
                quote = next(q for q in client.quotes(client.event(EVENT)) if q.ticker == ticker)
                legs = []
                ask, bid = yes_ask(quote), best_bid(quote.yes_bids)
                if ask is not None and ask < 9_900:
                    legs.append(IntendedOrder(client_order_id=client_order_id(decision, 0), ticker=ticker,
                                              side=Side.YES, action=Action.BUY, price=ask,
                                              count=100 + 50 * (i % 3)))
                if i % 3 == 0 and bid is not None and bid > 200:
                    legs.append(IntendedOrder(client_order_id=client_order_id(decision, 1), ticker=ticker,
                                              side=Side.YES, action=Action.BUY, price=bid - 100,
                                              count=100, post_only=True))
                oms.place(legs, decision_id=decision, city="NYC", correlation_id=decision)
                if i % 7 == 6:
                    oms.reconcile("scheduled")
        oms.reconcile("scheduled")
    sys.stdout.write("DONE\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
