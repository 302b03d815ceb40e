"""An ASGI app served by uvicorn on a loopback port in a background thread (the demo's simulators,
the apps of ``milkbot serve``, and the tests' servers).

``serving`` returns when uvicorn says it is listening (polled with a deadline, never a fixed
sleep) and stops it cleanly on exit: the thread must be gone afterwards.

Every server here runs on httptools (uvicorn's C HTTP/1.1 parser) and uvloop, named rather than
left to uvicorn's "auto", which would quietly fall back to the pure-Python h11 parser and asyncio's
loop (several times slower per request) if ``uvicorn[standard]`` were not installed.
"""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

#: uvicorn's HTTP implementation and event loop (both from ``uvicorn[standard]``).
HTTP = "httptools"
LOOP = "uvloop"


def server_config(app: Any, *, host: str, port: int, ws: str = "none",
                  **options: Any) -> uvicorn.Config:
    """The uvicorn settings every Milkbot server runs with; ``options`` adds to them (``workers``,
    ``factory``, ``lifespan``...). No access log: a line per request would cost more than many
    answers, and at the ``warning`` level it would not be shown anyway."""
    settings: dict[str, Any] = {"log_level": "warning", "lifespan": "off", "ws": ws, "http": HTTP,
                                "loop": LOOP, "access_log": False}
    return uvicorn.Config(app, host=host, port=port, **(settings | options))


def settle_heap() -> None:
    """Put everything alive now (modules, configuration, the app just built) out of the garbage
    collector's reach. Call it once a server's long-lived objects are built: a full collection
    otherwise walks all of them, tens of thousands of objects, pausing every request in flight
    for 50-200 ms under load (a public endpoint's p99). Frozen objects are never collected."""
    gc.collect()
    gc.freeze()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any, *, host: str = "127.0.0.1", port: int | None = None, name: str = "server",
            ws: str = "none") -> Iterator[str]:
    """Serve ``app``; yields its base URL (``http://HOST:PORT``)."""
    port = port or free_port()
    server = uvicorn.Server(server_config(app, host=host, port=port, ws=ws))
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
