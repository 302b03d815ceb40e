"""Building JSON answers from the read model, with a cache that can never serve a stale answer.

An answer is built in one read transaction. Its cache key holds every projection's position, read
first in that same transaction: the tables change only in a commit that moves a position, so while
the positions stand, the answer stands, and when one moves, the key is new. No timer is involved,
so many clients asking between two projection batches cost one build.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

import orjson

from api.public_queries import ledger_clock, version
from api.read_model import ReadModel
from eventstore.backend import ReadModelTx

Build = Callable[[ReadModelTx, datetime | None], dict[str, Any]]
DEFAULT_CACHE_SIZE = 512


class Answers:
    def __init__(self, read_model: ReadModel, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._read_model = read_model
        self._size = cache_size
        self._cache: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def json(self, key: Hashable, build: Build) -> bytes:
        """The orjson bytes of ``build(tx, as_of)`` (blocking: call it from a worker thread)."""
        with self._read_model.read() as tx:
            full_key = (key, version(tx))
            with self._lock:
                cached = self._cache.get(full_key)
                if cached is not None:
                    self._cache.move_to_end(full_key)
                    return cached
            body = orjson.dumps(build(tx, ledger_clock(tx)))
        with self._lock:
            self._cache[full_key] = body
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return body
