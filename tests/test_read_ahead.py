"""The Monitor read requests the next page while the caller works on the last one, only when allowed.

A stand-in stream of numbered pages whose requests are recorded, with a caller that holds each
body as long as the test says: whether the next request went out before the caller asked for it
is then a fact, not a timing.
"""

import threading

import pytest

from dsassets.lib.clients.read_ahead import read_ahead

WAIT = 5.0  # seconds a request that must happen is given


class Stream:
    """Pages ``c0 .. c<last>``; each request is recorded and signalled; ``fail_at`` raises there."""

    def __init__(self, last: int, fail_at: str | None = None) -> None:
        self.last, self.fail_at = last, fail_at
        self.requested: list[str] = []
        self.arrived = {f"c{n}": threading.Event() for n in range(last + 2)}

    def fetch(self, cursor: str) -> str:
        self.requested.append(cursor)
        self.arrived[cursor].set()
        if cursor == self.fail_at:
            raise ConnectionError(f"reading {cursor} failed")
        return f"body of {cursor}"

    def following(self, body: str, cursor: str) -> str | None:
        n = int(cursor[1:])
        return None if n == self.last else f"c{n + 1}"


def test_the_next_page_is_requested_while_the_caller_holds_this_one():
    stream = Stream(last=2)
    bodies = read_ahead(stream.fetch, stream.following, "c0", lambda: True)
    assert next(bodies) == "body of c0"
    # The caller has not asked for the next body: its request is out already.
    assert stream.arrived["c1"].wait(WAIT)
    assert list(bodies) == ["body of c1", "body of c2"]
    assert stream.requested == ["c0", "c1", "c2"]  # and none after the last


def test_a_caller_that_may_stop_here_gets_no_request_before_it_asks():
    stream = Stream(last=2)
    bodies = read_ahead(stream.fetch, stream.following, "c0", lambda: False)
    assert next(bodies) == "body of c0"
    assert not stream.arrived["c1"].wait(0.3)
    assert stream.requested == ["c0"]
    bodies.close()  # the read ends here: nothing more was requested
    assert stream.requested == ["c0"]


def test_an_early_stop_sends_at_most_the_one_request_allowed_ahead():
    stream = Stream(last=5)
    allowed = iter([False, True, False])  # asked as c0, c1, c2 are handed over
    bodies = read_ahead(stream.fetch, stream.following, "c0", lambda: next(allowed))
    assert [next(bodies), next(bodies)] == ["body of c0", "body of c1"]
    bodies.close()  # waits for the request in flight, if any
    assert stream.requested in (["c0", "c1"], ["c0", "c1", "c2"])


def test_a_failed_request_ahead_is_raised_where_its_page_would_come():
    stream = Stream(last=3, fail_at="c1")
    bodies = read_ahead(stream.fetch, stream.following, "c0", lambda: True)
    assert next(bodies) == "body of c0"
    assert stream.arrived["c1"].wait(WAIT)  # it failed while the caller still held c0
    with pytest.raises(ConnectionError, match="reading c1 failed"):
        next(bodies)
    assert stream.requested == ["c0", "c1"]


def test_a_failed_request_the_caller_never_needed_is_not_raised():
    stream = Stream(last=3, fail_at="c1")
    bodies = read_ahead(stream.fetch, stream.following, "c0", lambda: True)
    assert next(bodies) == "body of c0"
    assert stream.arrived["c1"].wait(WAIT)
    bodies.close()  # the caller's read ended with c0 (a window read past its end)
