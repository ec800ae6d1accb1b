"""A webhook receiver on 127.0.0.1 for the notification tests: records every POST, answers from a script."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Slack-style: the secret is in the path, so it must never reach a ledger or a log.
SECRET_PATH = "/services/T0001/B0002/s3cr3tT0k3nXYZ"


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers from a script of statuses."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.script: list[int] = []  # statuses to answer first; then 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.script.pop(0) if receiver.script else 200
                receiver.posts.append({"path": self.path, "status": status, "body": json.loads(body)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"

    def accepted(self) -> list[dict]:
        return [p for p in self.posts if p["status"] < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
