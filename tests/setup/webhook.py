"""A chat webhook server on loopback that records what it receives (the tests start it; nothing leaves)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookServer:
    def __init__(self, status: int = 200):
        self.status, self.received = status, []
        self.arrived = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.received.append(json.loads(body or b"{}"))
                server.arrived.set()
                self.send_response(server.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if server.status < 300 else b"no")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/T1/B2/the-secret-part"

    def texts(self) -> list[str]:
        return [str(message.get("text", "")) for message in self.received]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
