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


class SmtpReceiver:
    """A minimal SMTP server on 127.0.0.1 (EHLO, AUTH PLAIN, MAIL, RCPT, DATA); ``busy`` greetings first."""

    def __init__(self, busy: int = 0) -> None:
        import socketserver

        self.messages: list[str] = []
        self.auth: list[str] = []
        self.busy = busy
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text: str) -> None:
                self.wfile.write((text + "\r\n").encode())

            def handle(self) -> None:
                if receiver.busy:
                    receiver.busy -= 1
                    self.reply("421 busy, try later")
                    return
                self.reply("220 loopback ESMTP")
                lines: list[str] | None = None
                for raw in self.rfile:
                    text = raw.decode().rstrip("\r\n")
                    if lines is not None:
                        if text == ".":
                            receiver.messages.append("\n".join(lines))
                            lines = None
                            self.reply("250 queued")
                        else:
                            lines.append(text[1:] if text.startswith("..") else text)
                        continue
                    verb = text.split(" ")[0].upper()
                    if verb == "EHLO":
                        self.reply("250-loopback")
                        self.reply("250 AUTH PLAIN")
                    elif verb == "AUTH":
                        receiver.auth.append(text)
                        self.reply("235 accepted")
                    elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                        self.reply("250 ok")
                    elif verb == "DATA":
                        lines = []
                        self.reply("354 end with .")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
