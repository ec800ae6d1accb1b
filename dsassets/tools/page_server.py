"""A loopback stand-in for DocuSign's Monitor stream that serves pre-rendered pages from disk.

``dsassets bench`` measures extraction through the real client against this server, so the
figure is the client's (HTTP, paging, decoding, Parquet), not the simulator's: the pages
were rendered once beforehand (:func:`render`), and serving one is a file read that the OS
page cache answers from memory. It runs in its own process (``python -m
dsassets.tools.page_server DIR [LATENCY_MS]``), so its work is not in the client's peak RSS or GIL.

Serves ``POST /oauth/token`` (any assertion gets a token) and ``GET
/v1/organizations/{id}/stream?cursor=C`` (the page rendered for cursor ``C``; 404 for any
other cursor, so a client that pages differently from the rendering fails loudly).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date, datetime, time as clock_time, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

INDEX = "cursors.json"


def render(directory: Path, start: date, end: date, events_per_day: int, seed: int, lag: timedelta,
           page_limit: int, readers: int = 1) -> int:
    """Write the Monitor pages a read of ``[start, end]`` gets (one body per file); return events written.

    The read is the extraction's: ``readers`` windows of whole days (``split_windows``), each from
    its own ISO cursor until the page holding an event at or after its end plus ``lag``, where the
    client stops reading (or the stream's end). Events a window reads past its end are in the next
    window's pages too, as they are in the reads."""
    import orjson

    from dsassets.lib.lake.window_reads import split_windows
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig

    first = datetime.combine(start, clock_time.min, timezone.utc)
    last = datetime.combine(end + timedelta(days=1), clock_time.min, timezone.utc)
    now = last + lag + timedelta(days=1)
    sim = DocuSignSimulator(SimulatorConfig(seed=seed, events_per_day=events_per_day), now=lambda: now)
    directory.mkdir(parents=True, exist_ok=True)
    index: dict[str, str] = {}
    events = 0
    for window_start, window_end in split_windows(first, last, readers):
        stop = window_end + lag
        cursor = window_start.strftime("%Y-%m-%dT%H:%M:%SZ")
        while cursor not in index:  # a cursor already rendered continues as it did
            end_cursor, page = sim.store.page(cursor, page_limit, sim.now_ticks())
            name = f"{len(index):06d}.json"
            body = b'{"endCursor":' + orjson.dumps(end_cursor) + b',"resultData":[' + ",".join(page).encode() + b"]}"
            (directory / name).write_bytes(body)
            index[cursor] = name
            events += len(page)
            last_at = orjson.loads(page[-1])["timestamp"][:19] if page else None
            if end_cursor == cursor or (last_at and datetime.fromisoformat(last_at).replace(tzinfo=timezone.utc) >= stop):
                break
            cursor = end_cursor
    (directory / INDEX).write_text(json.dumps(index))
    return events


def serve(directory: Path, latency: float = 0.0) -> None:
    """Serve ``directory``'s pages on an ephemeral loopback port, each ``latency`` seconds late (a
    network's round trip and transfer, which loopback lacks); print ``http://127.0.0.1:PORT``."""
    index = json.loads((directory / INDEX).read_text())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the client's pool reuses one connection

        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(200, b'{"access_token":"bench-token","token_type":"Bearer","expires_in":3600}')

        def do_GET(self):  # noqa: N802
            url = urlsplit(self.path)
            cursor = parse_qs(url.query).get("cursor", [""])[0]
            name = index.get(cursor)
            if not url.path.endswith("/stream") or name is None:
                self._send(404, b'{"errorCode":"NOT_FOUND","message":"no page rendered for this cursor"}')
                return
            time.sleep(latency)
            self._send(200, (directory / name).read_bytes())

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # one line per page would be the benchmark's output
            pass

    from dsassets.simulator.server import default_sigterm

    default_sigterm()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0)
