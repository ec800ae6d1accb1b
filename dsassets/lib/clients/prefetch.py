"""Read an iterator ahead on a thread, through a bounded queue: overlap reading with writing.

Reading a Monitor page is mostly waiting (the network) and decoding (DuckDB, which releases
the GIL), so a reader thread keeps the next pages coming while the caller writes the last
one. The queue's bound keeps memory at a few pages; an error on the reader is raised in the
caller, at the point the failed item would have arrived, so nothing after it is written.
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


class _Failed:
    """The reader's error, carried through the queue (an item could itself be an exception)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextmanager
def prefetched(items: Iterable[T], depth: int) -> Iterator[Iterator[T]]:
    """``items``, read up to ``depth`` ahead on a daemon thread. Leaving the block early stops the
    reader at its next item (and closes ``items`` if it is a generator)."""
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        # A blocked put would keep the reader alive after the caller left: poll the stop flag.
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not offer(item):
                    break
            else:
                offer(_DONE)
        except BaseException as exc:  # handed to the caller, raised where the item would be
            offer(_Failed(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def drain() -> Iterator[T]:
        while True:
            item = ahead.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    reader = threading.Thread(target=read, name="prefetch", daemon=True)
    reader.start()
    try:
        yield drain()
    finally:
        stop.set()
        reader.join()
