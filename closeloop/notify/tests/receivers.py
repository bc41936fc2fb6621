"""Real local HTTP receivers standing in for the IM platforms and webhook consumers."""

import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from closeloop.testing.http import LocalServer, send_json


@dataclass
class Hit:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    at: float

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # parallel sends must not meet a full listen backlog

    def handle_error(self, request, client_address):
        pass  # a client that died mid-request (the crash tests kill it on purpose)


@dataclass
class Receiver(LocalServer):
    """`handler(hit) -> (status, body, headers)`; the default answers `{"errcode":0,"code":0}`.
    `script` holds answers used before the handler, one per request."""

    handler: object = None
    hits: list = field(default_factory=list)
    script: list = field(default_factory=list)
    down: bool = False
    server_class = _Server

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _do(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                hit = Hit(
                    self.command,
                    parts.path,
                    {k: v[0] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.time(),
                )
                receiver.hits.append(hit)
                if receiver.script:
                    answer = receiver.script.pop(0)
                elif receiver.handler is not None:
                    answer = receiver.handler(hit)
                else:
                    answer = (200, {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"}, {})
                if answer == "hang":
                    time.sleep(3)
                    answer = (200, {"errcode": 0, "code": 0}, {})
                send_json(self, *answer)

            do_GET = do_POST = _do

        return self.serve(Handler)


def closed_port() -> int:
    """A local port nobody listens on: a receiver that is down."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
