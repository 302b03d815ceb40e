"""Errors of the Kalshi adapter, translated at this boundary (``raise KalshiUnavailable(...) from e``).

    KalshiError
    ├── KalshiUnavailable      unreachable, timed out before sending, or 5xx/HTML after the retries
    │                          a read may retry; a write never retries blindly (see OrderInFlight)
    ├── OrderInFlight          a write was sent and its outcome is unknown (timeout, 5xx, reset after
    │                          send): only a read of orders/fills may resolve it
    ├── KalshiRejected         the exchange refused a request (4xx with its code and message)
    │   ├── Unauthorized       401: bad key, bad or stale signature (clock skew), expired access
    │   ├── DuplicateOrder     409 on create: that client_order_id is already placed
    │   ├── NotFound           404: no such market, event, order
    │   └── RateLimited        429 after the backoff budget
    ├── MalformedResponse      JSON that does not parse or lacks the spec's required fields, or an
    │                          HTML page where JSON was promised; nothing half-parsed is returned
    ├── CursorLoop             pagination returned a cursor already seen
    └── BadCredentials         the key id or private key file is missing, unreadable, or not an RSA
                               private key (the message names the setting, never the key)

No message ever carries the private key, a signature, or a whole request or response body.
"""

from __future__ import annotations


class KalshiError(Exception):
    """Base of every Kalshi adapter error."""


class KalshiUnavailable(KalshiError):
    pass


class OrderInFlight(KalshiError):
    def __init__(self, client_order_id: str, reason: str) -> None:
        super().__init__(f"order {client_order_id} was sent but its outcome is unknown ({reason}); "
                         "read orders and fills before doing anything else with it")
        self.client_order_id = client_order_id
        self.reason = reason


class KalshiRejected(KalshiError):
    def __init__(self, status: int, code: str, message: str, *, path: str = "") -> None:
        where = f" {path}" if path else ""
        super().__init__(f"Kalshi refused{where}: {status} {code}: {message}".rstrip(": "))
        self.status = status
        self.code = code
        self.message = message
        self.path = path


class Unauthorized(KalshiRejected):
    """Kalshi did not accept the signature. Either the key is wrong, or this machine's clock is off:
    a signature carries its timestamp and is refused a few seconds either side of the venue's."""

    def __init__(self, status: int, code: str, message: str, *, path: str = "") -> None:
        super().__init__(status, code, message, path=path)
        self.args = (f"{self.args[0]} (check MILKBOT_KALSHI_KEY_ID, MILKBOT_KALSHI_PRIVATE_KEY_FILE "
                     "and that this machine's clock is synchronised)",)


class DuplicateOrder(KalshiRejected):
    pass


class NotFound(KalshiRejected):
    pass


class RateLimited(KalshiRejected):
    pass


class MalformedResponse(KalshiError):
    pass


class CursorLoop(KalshiError):
    pass


class BadCredentials(KalshiError):
    pass
