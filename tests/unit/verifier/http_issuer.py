"""A :class:`FakeIssuer` served over real HTTP on 127.0.0.1, able to misbehave on purpose.

Its id is ``http://127.0.0.1:<free port>``, so the verifier's default fetch reaches it through
a real socket. ``misbehave[path]`` makes one path slow:

* ``"hang"``: accept the request and never answer;
* ``"trickle"``: send the headers, then the body one byte every :data:`TRICKLE_SECONDS`;
* ``"trickle_headers"``: send even the status line and headers one byte at a time.

Every wait ends when the server is closed, so no handler outlives its test.
"""

from __future__ import annotations

import http.server
import threading
from types import TracebackType

from tests.unit.verifier.fake_issuer import Clock, FakeIssuer

#: Seconds between two bytes of a trickling answer.
TRICKLE_SECONDS = 2.0
#: Longest a misbehaving handler waits before giving up on its own.
MAX_HANDLER_SECONDS = 30.0


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        owner = self.server.owner
        mode = owner.misbehave.get(self.path)
        owner.requests.append(self.path)
        if mode == "hang":
            owner.closing.wait(MAX_HANDLER_SECONDS)
            return
        answer = owner.issuer.serve(owner.issuer.id + self.path, dict(self.headers.items()))
        head = f"HTTP/1.1 {answer.status} X\r\n"
        for name, value in answer.headers.items():
            head += f"{name}: {value}\r\n"
        head += f"Content-Length: {len(answer.body)}\r\nConnection: close\r\n\r\n"
        try:
            if mode == "trickle_headers":
                self._trickle(head.encode("latin-1") + answer.body)
            elif mode == "trickle":
                self.wfile.write(head.encode("latin-1"))
                self._trickle(answer.body)
            else:
                self.wfile.write(head.encode("latin-1") + answer.body)
        except OSError:
            pass  # the verifier hung up: that is what the deadline is for
        self.close_connection = True

    def _trickle(self, data: bytes) -> None:
        for position in range(len(data)):
            self.wfile.write(data[position : position + 1])
            self.wfile.flush()
            if self.server.owner.closing.wait(TRICKLE_SECONDS):
                return

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    owner: HttpIssuer


class HttpIssuer:
    """A fake issuer on a real local port (use as a context manager: it always shuts down)."""

    def __init__(self, clock: Clock, name: str = "Issuer") -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.owner = self
        self.issuer = FakeIssuer(clock, f"http://127.0.0.1:{self.server.server_address[1]}")
        self.name = name
        self.misbehave: dict[str, str] = {}
        self.requests: list[str] = []
        self.closing = threading.Event()
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> HttpIssuer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def entry(self) -> dict[str, str]:
        """The trust-registry entry of this issuer."""
        return self.issuer.entry(self.name)

    def path(self, url: str) -> str:
        """The request path of one of this issuer's URLs."""
        return url.removeprefix(self.issuer.id)

    def list_path(self, purpose: str) -> str:
        """The request path of the issuer's status list for ``purpose``."""
        return self.path(self.issuer.list_url(purpose))
