"""Reading ahead on a thread: order kept, errors raised where they happened, bounded, stoppable."""

from __future__ import annotations

import threading

import pytest

from dsassets.lib.clients.prefetch import prefetched


def test_items_arrive_in_order_and_an_error_arrives_where_it_happened():
    def items():
        yield 1
        yield 2
        raise RuntimeError("page 3 failed")

    got = []
    with pytest.raises(RuntimeError, match="page 3"), prefetched(items(), 2) as ahead:
        for item in ahead:
            got.append(item)
    assert got == [1, 2]


def test_the_reader_stays_at_most_depth_ahead_and_stops_when_the_caller_leaves():
    produced, closed = [], threading.Event()

    def items():
        try:
            for n in range(1000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    with prefetched(items(), 3) as ahead:
        assert next(ahead) == 0
    assert closed.wait(5)  # the generator was closed on the reader's thread
    assert len(produced) <= 1 + 3 + 1  # the one taken, a full queue, and the one waiting to be put
