"""A real HTTP server on 127.0.0.1 for tests of what Closeloop sends across the network (IM
platforms, webhooks, OAuth): the tests check each request as the platform would, instead of
mocking the client."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer:
    """Mixin for a fake: `serve(Handler)` listens on a free local port in a daemon thread;
    `base` is its URL, `stop()` shuts it down. `server_class` may be overridden."""

    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer

    def serve(self, handler: type[BaseHTTPRequestHandler]):
        self.server = self.server_class(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def send_json(handler: BaseHTTPRequestHandler, status: int, payload, headers: dict | None = None) -> None:
    """Answer `payload` (bytes as they are, anything else as JSON) with `status` and `headers`."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)
