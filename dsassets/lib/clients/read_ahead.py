"""Request a stream's next page while the caller decodes the last one, when it may.

A Monitor page's request needs only the ``endCursor`` of the page before, which the response's
envelope gives before a single event is decoded. Read one after the other, the network wait
and the decoding added up; here the requests are sent from a thread (:func:`prefetched`), and
the next one goes out as soon as the caller is handed a body, unless the caller says the read
may end with that body (a window read near its end: a request past it would be one more call
against DocuSign's hourly limit, for nothing). Then the request waits until the caller asks
for the next body, as before.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator, TypeVar

from dsassets.lib.clients.prefetch import prefetched

B = TypeVar("B")


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
    permits = threading.Semaphore(0)  # one per request the caller allows
    closed = threading.Event()

    def requests() -> Iterator[B]:
        at: str | None = cursor
        while at is not None:
            permits.acquire()
            if closed.is_set():
                return
            body = fetch(at)
            yield body
            at = following(body, at)

    with prefetched(requests(), depth=1) as bodies:
        permits.release()
        try:
            for body in bodies:
                ahead = may_run_ahead()
                if ahead:
                    permits.release()
                yield body
                if not ahead:
                    permits.release()
        finally:
            # a request thread waiting for a permit wakes and stops, before prefetched joins it
            closed.set()
            permits.release()
