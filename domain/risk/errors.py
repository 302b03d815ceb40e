"""What the risk engine refuses to do, as a small tree.

::

    RiskError (ValueError)
    +-- MissingRiskInput   the caller left out something a check needs (a ticker's city, a city's
    |                      cluster, an order's market): a bug upstream, never guessed around
    +-- NotHalted          ``resume`` was asked for a scope that no operator or kill switch halted

A risk *verdict* is never an exception: a refused order is an ``OrderRiskChecked`` with
``approved=False`` and every check's reason.
"""

from __future__ import annotations


class RiskError(ValueError):
    """Base of the risk engine's errors."""


class MissingRiskInput(RiskError):
    """A check needs an input the caller did not give; the message names it."""


class NotHalted(RiskError):
    """Resume was refused: the scope is not halted by an operator; the message says what, if
    anything, is holding trading back instead."""
