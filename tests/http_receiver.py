"""Loopback HTTP servers for tests: ``LoopbackServer`` (start on a free port, stop on exit), and ``Receiver``, for
tests of what the product sends out (webhooks, SMS pages): it records every request and answers with ``status`` (and
a ``Location`` header when ``location`` is set). ``tests/oidc_provider.py`` serves on ``LoopbackServer`` too."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """A quiet threaded HTTP server on 127.0.0.1 and a free port, serving ``handler`` while inside ``with``;
    ``base_url`` is ``http://127.0.0.1:<port>``."""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        class Quiet(handler):  # type: ignore[valid-type,misc]
            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Receiver(LoopbackServer):
    """``with Receiver(path="/hooks/helpdesk") as receiver:`` starts it on a free port; ``receiver.url`` is where to
    send, ``receiver.requests`` holds ``{"path", "headers", "body"}`` (the raw body bytes) per request received."""

    def __init__(self, status: int = 200, location: str = "", path: str = "/hooks/helpdesk"):
        self.status = status
        self.location = location
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._serve(Handler)
        self.url = f"{self.base_url}{path}"
