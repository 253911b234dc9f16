"""A real HTTP server on 127.0.0.1 that plays a provider: OAuth token endpoint and
data endpoints, replaying the published fixture payloads. Tests script it per path
(queues of responses: 429 then 200, 401 then 200, pages...) and read back every
request it received. No function of ours is faked: the connector speaks HTTP to it.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# Published provider payloads live in the repository (fixtures/README.md: sources, licences).
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Reply:
    status: int = 200
    body: object = None          # dict/list -> JSON; str/bytes sent as is
    headers: dict = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    form: dict
    body: bytes


class StubServer:
    """`routes[(method, path)]` is a deque of Reply (the last one repeats) or a callable
    (Seen) -> Reply."""

    def __init__(self):
        self.routes: dict[tuple[str, str], object] = {}
        self.requests: list[Seen] = []
        self.hits = defaultdict(int)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                form = {}
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                seen = Seen(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                            {k.lower(): v for k, v in self.headers.items()}, form, body)
                stub.requests.append(seen)
                stub.hits[(self.command, parts.path)] += 1
                reply = stub._reply(seen)
                payload = reply.body
                if isinstance(payload, dict | list):
                    payload = json.dumps(payload).encode()
                    ctype = "application/json"
                else:
                    payload = payload.encode() if isinstance(payload, str) else (payload or b"")
                    ctype = "text/plain"
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.pop("Content-Type", ctype))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _reply(self, seen: Seen) -> Reply:
        route = self.routes.get((seen.method, seen.path))
        if route is None:
            return Reply(404, {"error": f"no stub route {seen.method} {seen.path}"})
        if callable(route):
            return route(seen)
        reply = route[0] if len(route) == 1 else route.popleft()
        return Reply(reply.status, reply.body, dict(reply.headers))

    def on(self, method: str, path: str, *replies) -> None:
        if len(replies) == 1 and callable(replies[0]):
            self.routes[(method, path)] = replies[0]
        else:
            self.routes[(method, path)] = deque(r if isinstance(r, Reply) else Reply(200, r) for r in replies)

    def seen(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def point_provider_at(settings, provider: str, url: str) -> None:
    """Settings of one provider aimed at the stub (the code reads them at use)."""
    name = provider.upper()
    setattr(settings, f"WEARABLES_{name}_API_BASE", url)
    setattr(settings, f"WEARABLES_{name}_AUTHORIZE_URL", f"{url}/oauth/authorize")
    setattr(settings, f"WEARABLES_{name}_TOKEN_URL", f"{url}/oauth/token")
    setattr(settings, f"WEARABLES_{name}_CLIENT_ID", f"{provider}-client")
    setattr(settings, f"WEARABLES_{name}_CLIENT_SECRET", f"{provider}-secret")
