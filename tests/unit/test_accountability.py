"""What a settlement says about our forecasts and our trades: scores, realized edge, the alert."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.accountability import (
    AccountabilityParams,
    edge_alert,
    forecast_scored,
    outcomes,
    realized_edge,
    score_stream,
)
from domain.events import Action, Side
from domain.learning import NotScorable
from tests.builders import (
    CORRELATION,
    T0,
    a_ladder,
    a_ladder_settled,
    a_priced_decision,
    a_settlement,
    an_order_filled,
)

TICKERS = tuple(m.ticker for m in a_ladder())


def test_a_settled_ladder_scores_the_decision_with_its_baselines() -> None:
    """Probabilities (0.117, 0.220, 0.299, 0.232, 0.103, 0.030), the third rung pays:
    Brier = 0.117² + 0.220² + 0.701² + 0.232² + 0.103² + 0.030² = 0.618823."""
    decision = a_priced_decision(climatology=(1 / 6,) * 6, forecast_value=83.0)
    settled = outcomes(a_ladder_settled(TICKERS, TICKERS[2]))

    scored = forecast_scored(decision, settled, Decimal(83), recorded_at=T0, correlation_id=CORRELATION)

    assert scored.ours.brier == pytest.approx(0.618823)
    assert scored.climatology is not None and scored.climatology.brier == pytest.approx(5 / 6)
    assert scored.market is None  # the decision recorded no market baseline
    assert scored.paying == (TICKERS[2],) and scored.settled_value == Decimal(83)
    assert scored.stream == score_stream(decision.event_ticker, 1)
    again = forecast_scored(decision, settled, Decimal(83), recorded_at=T0, correlation_id=CORRELATION)
    assert again.event_id == scored.event_id  # recording it twice is a no-op


def test_a_ladder_not_settled_in_full_cannot_be_scored() -> None:
    settled = outcomes(a_ladder_settled(TICKERS[:5], TICKERS[2]))
    with pytest.raises(NotScorable, match="not settled yet"):
        forecast_scored(a_priced_decision(), settled, None, recorded_at=T0, correlation_id=CORRELATION)


@pytest.mark.parametrize(("side", "action", "price", "result", "edge"), [
    (Side.YES, Action.BUY, 3000, "yes", 1 - 0.30 - 0.02),   # paid $1, cost 30¢ + 2¢ fee
    (Side.YES, Action.BUY, 3000, "no", 0 - 0.30 - 0.02),
    (Side.NO, Action.BUY, 7000, "no", 1 - 0.70 - 0.02),     # NO pays when YES does not
    (Side.YES, Action.SELL, 3000, "no", 0.30 - 0.02 - 0),   # sold what turned out worthless
    (Side.YES, Action.SELL, 3000, "yes", 0.30 - 0.02 - 1),
])
def test_realized_edge_is_what_the_contract_paid_less_price_and_fee(
        side: Side, action: Action, price: int, result: str, edge: float) -> None:
    ticker = TICKERS[1]
    fill = an_order_filled("f-1", ticker=ticker, side=side, action=action, price=price, count=500,
                           fee=100_000)  # 10¢ on 5 contracts: 2¢ each
    assert realized_edge(fill, a_settlement(ticker, result=result)) == pytest.approx(edge)
    with pytest.raises(ValueError, match="not"):
        realized_edge(fill, a_settlement(TICKERS[0], result=result))


def test_the_edge_alert_fires_once_when_the_rolling_mean_crosses_below_the_level() -> None:
    params = AccountabilityParams(edge_window=3, min_realized_edge=0.0)

    def alert(realized: list[float]) -> bool:
        return edge_alert(realized, params, scope="NYC", recorded_at=T0,
                          correlation_id=CORRELATION) is not None

    assert not alert([-0.5, -0.5])  # fewer trades than the window: no mean to trust yet
    assert alert([0.1, -0.5, -0.5])  # the first full window is already below
    history = [0.2, 0.1, 0.05]
    assert not alert(history)
    history.append(-0.4)  # mean of (0.1, 0.05, -0.4) < 0: crosses now
    assert alert(history)
    history.append(-0.1)  # still below: nothing new
    assert not alert(history)
    raised = edge_alert(history[:4], params, scope="NYC", recorded_at=T0, correlation_id=CORRELATION)
    assert raised is not None and raised.kind == "edge_decay" and raised.stream.endswith(":4")
    assert "NYC" in raised.message
