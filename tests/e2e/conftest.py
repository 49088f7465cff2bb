"""Both services as real HTTP servers on 127.0.0.1 free ports, each in a thread."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

import verifier
from issuer import access, create_app
from tests.conftest import FakeClock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A WSGI app served on 127.0.0.1 in a background thread."""

    def __init__(self, app: Flask, port: int) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: Any = None, token: str | None = None) -> Reply:
    """One real HTTP request; returns status, headers and body whatever the status."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


@dataclass
class Stack:
    issuer: Server
    verifier: Server
    verifier_clock: FakeClock
    tokens: dict[str, str]


@pytest.fixture
def stack(database_url: str, keys_dir: Path) -> Iterator[Stack]:
    issuer_port, verifier_port = free_port(), free_port()
    issuer_url, verifier_url = f"http://127.0.0.1:{issuer_port}", f"http://127.0.0.1:{verifier_port}"
    issuer_app = create_app(
        {
            "database_url": database_url,
            "keys_dir": str(keys_dir),
            "issuer_url": issuer_url,
            "verifier_url": verifier_url,
            "status_list_ttl": 60,
        }
    )
    rt = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        tokens = {role: access.create_token(session, rt.ctx, role, role) for role in access.ROLES}
    verifier_clock = FakeClock(datetime.now(UTC))
    verifier_app = verifier.create_app(
        {
            "TRUSTED_ISSUERS": {
                "issuers": [
                    {
                        "id": issuer_url,
                        "name": "Test Aesthetic Academy",
                        "jwks_url": f"{issuer_url}/.well-known/jwks.json",
                    }
                ]
            }
        },
        clock=verifier_clock,
    )
    issuer_server = Server(issuer_app, issuer_port)
    verifier_server = Server(verifier_app, verifier_port)
    try:
        yield Stack(issuer_server, verifier_server, verifier_clock, tokens)
    finally:
        verifier_server.stop()
        issuer_server.stop()
        rt.engine.dispose()
