"""An ASGI app served by uvicorn on a free loopback port in a background thread, for tests.

Started when uvicorn says it is listening (polled with a deadline, never a fixed sleep) and
stopped cleanly: the thread must be gone afterwards.
"""

from __future__ import annotations

from milkbot.serving import free_port, serving

__all__ = ["free_port", "serving"]
