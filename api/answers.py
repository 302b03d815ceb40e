"""Building JSON answers from the read model, with a cache that can never serve a stale answer.

An answer is built in one read transaction. Its cache key holds every projection's position, read
first in that same transaction: the tables change only in a commit that moves a position, so while
the positions stand, the answer stands, and when one moves, the key is new. No timer is involved,
so many clients asking between two projection batches cost one build.

A cached answer costs no thread and no transaction of its own: ``Answers.answer`` takes the
positions from ``PassVersions`` (a SQLite file: read on the event loop, once per pass of the loop)
or a ``VersionWatch`` (PostgreSQL: read in a thread, once for all the requests waiting), and
finds the encoded bytes under them. Each request still gets positions read after it arrived, so
an answer is never older than the last commit before the request (a client that saw a projection
move is never answered from before it).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from starlette.concurrency import run_in_threadpool

from api.public_queries import ledger_clock, version
from api.read_model import ReadModel, SqliteReadModel
from eventstore.backend import ReadModelTx, Row

Build = Callable[[ReadModelTx, datetime | None], dict[str, Any]]
Version = tuple[Row, ...]
DEFAULT_CACHE_SIZE = 512
#: What a version reader returns (``Version`` for the answers; ``/healthz`` adds the log's length).
V = TypeVar("V")


class PassVersions(Generic[V]):
    """The projections' positions for a local SQLite file, read on the event loop itself, at most
    once per pass of the loop: the first request in a pass reads them, the rest of the pass (and
    whatever that pass queued) shares the read.

    Never stale: a request is handled in a pass after the one that received its bytes, so any
    read made in that pass, or queued behind it, began after the request arrived, after any commit
    its client saw. The read is a read-only WAL transaction on one small table (tens of µs, never
    waiting for a writer); doing it here spares a cached answer any thread, future or lock: a
    round trip through a thread costs milliseconds under load, as a thread waits up to
    ``sys.getswitchinterval()`` (5 ms) for the GIL each time it takes it back from a busy loop,
    and a read takes it back after every SQLite call.
    """

    def __init__(self, read: Callable[[], V]) -> None:
        self._read = read
        self._seen: V | None = None
        self._seen_on: asyncio.AbstractEventLoop | None = None

    async def current(self) -> V:
        loop = asyncio.get_running_loop()
        seen = self._seen
        if seen is None or self._seen_on is not loop:
            seen = self._read()
            self._seen, self._seen_on = seen, loop
            loop.call_soon(self._forget)
        return seen

    def _forget(self) -> None:
        self._seen = self._seen_on = None


class VersionWatch(Generic[V]):
    """The projections' positions read in a worker thread (PostgreSQL: a network round trip),
    one read for many callers.

    ``current()`` returns positions from a read that *began after* the call: a caller arriving
    while a read runs waits for the next one, which starts when the running one ends and serves
    every caller that arrived meanwhile. Under load a request waits for at most two reads, and the
    database sees one read at a time from this process, however many clients there are.
    """

    def __init__(self, read: Callable[[], V]) -> None:
        self._read = read
        self._running: asyncio.Task[None] | None = None
        self._next: asyncio.Future[V] | None = None

    def current(self) -> Awaitable[V]:
        """The positions, once a read that began with this call ends (await it on the running
        loop; the caller counts as waiting from the call on)."""
        loop = asyncio.get_running_loop()
        if any(f is not None and f.get_loop() is not loop for f in (self._running, self._next)):
            self._running = self._next = None  # an earlier event loop's, gone with it
        waiting = self._next
        if waiting is None:
            waiting = self._next = loop.create_future()
            if self._running is None:
                self._start(loop)
        # Shielded: a caller that goes away (its client hung up) must not cancel the others' read.
        return asyncio.shield(waiting)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting, self._next = self._next, None
        assert waiting is not None
        self._running = loop.create_task(self._read_for(waiting, loop))

    async def _read_for(self, waiting: asyncio.Future[V],
                        loop: asyncio.AbstractEventLoop) -> None:
        try:
            positions = await run_in_threadpool(self._read)
        except asyncio.CancelledError:
            self._running = None
            waiting.cancel()
            raise
        except Exception as e:
            _fail(waiting, e)
        else:
            if not waiting.done():
                waiting.set_result(positions)
        self._running = None
        if self._next is not None:
            self._start(loop)


def _fail(waiting: asyncio.Future[Any], error: Exception) -> None:
    if not waiting.done():
        waiting.set_exception(error)
        waiting.add_done_callback(_retrieve)  # every waiter may have gone: no warning


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Answers:
    def __init__(self, read_model: ReadModel, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._read_model = read_model
        self._size = cache_size
        self._cache: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._versions: PassVersions[Version] | VersionWatch[Version] = (
            PassVersions(self._read_version) if isinstance(read_model, SqliteReadModel)
            else VersionWatch(self._read_version))
        self._building: dict[Hashable, asyncio.Future[bytes]] = {}

    async def answer(self, key: Hashable, build: Build) -> bytes:
        """The orjson bytes of ``build(tx, as_of)`` as of now: from the cache when the positions
        still stand, else built in a worker thread, once for all the requests that missed the
        same positions (when a projection moves under load, 50 clients cost one build, not 50)."""
        full_key = (key, await self._versions.current())
        cached = self._cached(full_key)
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        building = self._building.get(full_key)
        if building is None or building.get_loop() is not loop:
            # The build reads the positions again in its own transaction, after every request
            # waiting on it arrived: its answer is fresh enough for all of them.
            building = self._building[full_key] = asyncio.ensure_future(
                run_in_threadpool(self.json, key, build))
            building.add_done_callback(lambda done: self._built(full_key, done))
        # Shielded: a caller that goes away must not cancel the build the others wait for.
        return await asyncio.shield(building)

    def _built(self, full_key: Hashable, done: asyncio.Future[bytes]) -> None:
        if self._building.get(full_key) is done:
            del self._building[full_key]
        if not done.cancelled():
            done.exception()  # retrieved here: every waiter may have gone

    def json(self, key: Hashable, build: Build) -> bytes:
        """The orjson bytes of ``build(tx, as_of)`` (blocking: call it from a worker thread)."""
        with self._read_model.read() as tx:
            full_key = (key, version(tx))
            cached = self._cached(full_key)
            if cached is not None:
                return cached
            body = orjson.dumps(build(tx, ledger_clock(tx)))
        with self._lock:
            self._cache[full_key] = body
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return body

    def _cached(self, full_key: Hashable) -> bytes | None:
        with self._lock:
            cached = self._cache.get(full_key)
            if cached is not None:
                self._cache.move_to_end(full_key)
            return cached

    def _read_version(self) -> Version:
        with self._read_model.read() as tx:
            return version(tx)
