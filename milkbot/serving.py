"""An ASGI app served by uvicorn on a loopback port in a background thread (the demo's simulators,
and the tests' servers).

``serving`` returns when uvicorn says it is listening (polled with a deadline, never a fixed
sleep) and stops it cleanly on exit: the thread must be gone afterwards.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any, *, host: str = "127.0.0.1", port: int | None = None, name: str = "server",
            ws: str = "none") -> Iterator[str]:
    """Serve ``app``; yields its base URL (``http://HOST:PORT``)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           lifespan="off", ws=ws))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start on {host}:{port}")
        threading.Event().wait(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            raise RuntimeError(f"{name} did not stop")
