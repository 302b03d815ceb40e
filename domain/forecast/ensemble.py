"""The ensemble layer: one probability per market from several models' probabilities.

A linear pool: ``p = sum_i w_i p_i`` with weights that are non-negative and sum to 1. A convex
combination keeps what each component guarantees: an exclusive ladder still sums to 1 and a
cumulative ladder still falls as the strike rises. The weights are never set by hand for a day:
they come from the components' recent scores (``domain.learning``, recorded as a model state),
and until a component has enough scored forecasts the configured prior stands in for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def pool(components: Sequence[tuple[str, tuple[float, ...]]],
         weights: Mapping[str, float]) -> tuple[float, ...]:
    """The weighted average of the components' probabilities (rung by rung).

    Weights are renormalised over the components present; a component without a weight counts 0,
    and when no present component has weight the components count equally.
    """
    if not components:
        raise ValueError("nothing to pool")
    size = len(components[0][1])
    if any(len(p) != size for _, p in components):
        raise ValueError("components price different ladders")
    raw = [max(0.0, weights.get(name, 0.0)) for name, _ in components]
    total = math.fsum(raw)
    share = [w / total for w in raw] if total > 0 else [1 / len(components)] * len(components)
    return tuple(min(1.0, max(0.0, math.fsum(s * p[i] for s, (_, p) in zip(share, components, strict=True))))
                 for i in range(size))


def market_implied(yes_bids: Sequence[int | None], yes_asks: Sequence[int | None], *,
                   exclusive: bool, scale: int) -> tuple[float | None, ...]:
    """What the market's own prices say: each rung's mid (or its one quoted side), and for an
    exclusive ladder normalised to sum to 1 when every rung is quoted."""
    mids: list[float | None] = []
    for bid, ask in zip(yes_bids, yes_asks, strict=True):
        if bid is not None and ask is not None:
            mids.append((bid + ask) / 2 / scale)
        else:
            one = bid if bid is not None else ask
            mids.append(None if one is None else one / scale)
    if exclusive and mids and all(m is not None for m in mids):
        total = math.fsum(m for m in mids if m is not None)
        if total > 0:
            return tuple(m / total for m in mids if m is not None)
    return tuple(mids)
