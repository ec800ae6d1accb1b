"""The simulator as a real loopback HTTP server (stdlib ``ThreadingHTTPServer``).

Point the ``DOCUSIGN_*`` / ``ENTRA_*`` variables at ``http://127.0.0.1:PORT``
and the unchanged extraction code talks to it over TCP. The server wraps the
same ``SimulatorTransport`` as the in-process tests use.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

import httpx

from dsassets.simulator.drift import drift_body
from dsassets.simulator.transport import Fault

if TYPE_CHECKING:
    from dsassets.simulator.simulator import DocuSignSimulator


def make_server(
    simulator: DocuSignSimulator, host: str = "127.0.0.1", port: int = 0, faults: list[Fault] | None = None,
    drift: bool = False,
) -> tuple[ThreadingHTTPServer, str]:
    """A bound (not yet serving) server and its base URL; ``drift`` drifts JSON types (``drift.py``)."""
    transport = simulator.transport(faults)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"http://{self.headers.get('Host') or f'{host}:{self.server.server_address[1]}'}{self.path}"
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in ("host", "content-length")]
            request = httpx.Request(self.command, url, headers=headers, content=body)
            try:
                response = transport.handle_request(request)
                status, content, out_headers = response.status_code, response.read(), response.headers
                if drift and status == 200:
                    content = drift_body(request.url.path, content)
            except httpx.TransportError:
                # An injected network fault: drop the connection like a dead peer would.
                self.close_connection = True
                return
            self.send_response(status)
            for k, v in out_headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return server, f"http://{shown}:{bound_port}"


def serve(
    simulator: DocuSignSimulator, host: str = "127.0.0.1", port: int = 0, faults: list[Fault] | None = None
) -> tuple[ThreadingHTTPServer, str]:
    """Start serving in a daemon thread; returns ``(server, base_url)``. Stop with ``server.shutdown()``."""
    server, base_url = make_server(simulator, host, port, faults)
    thread = threading.Thread(target=server.serve_forever, name="docusign-simulator", daemon=True)
    thread.start()
    return server, base_url


@contextmanager
def serving_process(key_file: Path, *, seed: int, events_per_day: int, extra_args: tuple[str, ...] = (),
                    env: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """The simulator as its own process on a loopback port (``python -m dsassets.simulator``); yields
    the ``DOCUSIGN_*`` / ``ENTRA_*`` variables it prints, and stops it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dsassets.simulator", "--port", "0", "--seed", str(seed),
         "--events-per-day", str(events_per_day), "--key-file", str(key_file), *extra_args],
        env=None if env is None else dict(env), stdout=subprocess.PIPE, text=True,
    )
    exports: dict[str, str] = {}
    try:
        for line in proc.stdout or ():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
                if name == "ENTRA_GRAPH_URL":  # the last line it prints
                    break
        if "ENTRA_GRAPH_URL" not in exports:
            raise RuntimeError("the simulator's process printed no settings (its error is above)")
        yield exports
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a loopback server process and wait for it, killing it if it outlives ``timeout``.

    A parent that ignores SIGTERM passes that on to its children: Dagster maps SIGTERM to
    SIGINT's handler, which is "ignore" in a process a script started in the background
    (``pytest -n 2 &``: its test workers). The servers restore SIGTERM's default
    (:func:`default_sigterm`), and this bound still holds if one cannot.
    """
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def default_sigterm() -> None:
    """Let SIGTERM end this process, whatever disposition it inherited (see :func:`stop_process`)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
