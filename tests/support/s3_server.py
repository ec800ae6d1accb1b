"""A real S3-compatible server on loopback for the object-storage tests, and a faulty link to it.

``MotoServer`` runs ``python -m moto.server`` in its own process (a separate interpreter, so the
server never competes with the code under test for the GIL). ``FaultyLink`` is a TCP proxy in
front of it that passes every connection through until one has sent ``cut_after`` bytes, then
either drops it (a network failure mid-upload) or holds it open without forwarding (an upload in
flight, to kill the writer at that moment).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from contextlib import closing


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def point_at(patch, endpoint: str, key_id: str, secret: str) -> None:
    """Set botocore's standard variables (on ``patch``, a pytest MonkeyPatch) for the server at
    ``endpoint``, and nothing of the machine's own AWS profile."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ENDPOINT_URL", endpoint)
    patch.setenv("AWS_ACCESS_KEY_ID", key_id)
    patch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    patch.setenv("AWS_REGION", "us-east-1")


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "MotoServer":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"moto server did not start on {self.endpoint}")
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FaultyLink:
    """A loopback TCP proxy to ``upstream_port`` that cuts or stalls requests larger than ``cut_after``."""

    def __init__(self, upstream_port: int, cut_after: int, mode: str = "drop") -> None:
        assert mode in ("drop", "stall")
        self.upstream_port, self.cut_after, self.mode = upstream_port, cut_after, mode
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.tripped = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "FaultyLink":
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.listener.close()
        for t in self._threads:
            t.join(timeout=5)

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._spawn(self._upload, client, upstream)
            self._spawn(self._download, upstream, client)

    def _upload(self, client: socket.socket, upstream: socket.socket) -> None:
        sent = 0
        client.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    data = client.recv(65536)
                except (TimeoutError, socket.timeout):
                    continue
                if not data:
                    break
                if sent + len(data) > self.cut_after:
                    upstream.sendall(data[: max(0, self.cut_after - sent)])
                    self.tripped.set()
                    if self.mode == "stall":
                        self._stop.wait()
                    break
                upstream.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def _download(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                client.sendall(data)
        except OSError:
            pass
