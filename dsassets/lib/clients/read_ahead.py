"""Request a stream's next page while the caller decodes the last one, when it may.

A Monitor page's request needs only the ``endCursor`` of the page before, which the response's
envelope gives before a single event is decoded. Read one after the other, the network wait
and the decoding added up; here a thread sends the requests, and the next one goes out as soon
as the caller is handed a body, unless the caller says the read may end with that body (a
window read near its end: a request past it would be one more call against DocuSign's hourly
limit, for nothing). Then the request waits until the caller asks for the next body, as before.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator, TypeVar

B = TypeVar("B")
_DONE = object()


class _Failed:
    """The request thread's error, carried to the caller (a body could itself be an exception)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(fetch: Callable[[str], B], following: Callable[[B, str], str | None], cursor: str,
               may_run_ahead: Callable[[], bool]) -> Iterator[B]:
    """The bodies ``fetch(cursor)`` gives, from ``cursor`` on, each next cursor what
    ``following(body, cursor)`` names (None after the last), requested on a thread.

    ``may_run_ahead()`` is asked as each body is handed over: True sends the next request at
    once, False when the caller asks for the next body. So at most one request goes out that a
    one-at-a-time read would not have sent, and only after a body the caller allowed it for.
    An error is raised where its body would have come; leaving early waits for a request in
    flight (and closes nothing the caller owns).
    """
    handed: queue.Queue = queue.Queue()  # unbounded: the permits allow at most two bodies in it
    permits = threading.Semaphore(0)
    stop = threading.Event()

    def request() -> None:
        at: str | None = cursor
        try:
            while at is not None:
                permits.acquire()
                if stop.is_set():
                    return
                body = fetch(at)
                handed.put(body)
                at = following(body, at)
            handed.put(_DONE)
        except BaseException as exc:  # raised in the caller, where the body would be
            handed.put(_Failed(exc))

    thread = threading.Thread(target=request, name="monitor-read-ahead", daemon=True)
    thread.start()
    permits.release()
    try:
        while True:
            item = handed.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            ahead = may_run_ahead()
            if ahead:
                permits.release()
            yield item
            if not ahead:
                permits.release()
    finally:
        stop.set()
        permits.release()
        thread.join()
