"""Both services as real HTTP servers on 127.0.0.1 free ports (werkzeug, each in a thread),
the issuer on each database, seeded with practitioners, a credential and tokens so the
contract tests reach success answers as well as refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import verifier
from issuer import access, create_app, demo
from issuer.runtime import Runtime
from tests.conftest import PROGRAM, auth, practitioner_body
from tests.e2e.conftest import Server, free_port


@dataclass
class Stack:
    """The two servers, an admin token, and ids of what the issuer holds."""

    issuer: Server
    verifier: Server
    admin: str
    known: dict[str, list[str]] = field(default_factory=dict)
    credential_jwt: str = ""


def _seed(app: Flask) -> tuple[str, dict[str, list[str]], str]:
    """Tokens, one certified practitioner, one eligible and uncertified: what the generated
    requests may name besides made-up ids."""
    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        admin = access.create_token(session, rt.ctx, "admin", "contract tests")
        spare, _ = access.new_token(session, rt.ctx, "registrar", "contract tests: may be revoked")
        spare_id = spare.id
    client = app.test_client()
    today = rt.current_ctx().now().date()
    people = []
    for n in range(2):
        body = practitioner_body(email=f"contract{n}@example.org", license={"number": f"RN-77000{n}"})
        body["license"]["checked_on"] = today.isoformat()
        made = client.post("/api/v1/practitioners", json=body, headers=auth(admin))
        assert made.status_code == 201, made.json
        people.append(made.json["id"])
        for record in demo.complete_records(today):
            added = client.post(
                f"/api/v1/practitioners/{people[-1]}/records", json=record, headers=auth(admin)
            )
            assert added.status_code == 201, added.json
    issued = client.post(
        "/api/v1/credentials", json={"practitioner_id": people[0], "program_id": PROGRAM}, headers=auth(admin)
    )
    assert issued.status_code == 201, issued.json
    credential: dict[str, Any] = issued.json
    kid = credential["kid"]
    lists = [e["list_url"].rsplit("/", 2) for e in credential["status_entries"]]
    known = {
        "practitioner_id": people,
        "credential_id": [credential["id"]],
        "token_id": [spare_id],
        "program_id": [PROGRAM],
        "kid": [kid],
        "purpose": sorted({purpose for _, purpose, _ in lists}),
        "list_id": sorted({list_id for _, _, list_id in lists}),
    }
    return admin, known, credential["credential"]


@pytest.fixture
def stack(database_url: str, keys_dir: Path) -> Iterator[Stack]:
    """Both services on real ports; the issuer on ``database_url``, the verifier trusting it."""
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
    admin, known, token = _seed(issuer_app)
    verifier_app = verifier.create_app(
        {
            "TRUSTED_ISSUERS": {
                "issuers": [
                    {
                        "id": issuer_url,
                        "name": "Contract Test Academy",
                        "jwks_url": f"{issuer_url}/.well-known/jwks.json",
                    }
                ]
            },
            "FETCH_DEADLINE_SECONDS": 5,
        }
    )
    issuer_server = Server(issuer_app, issuer_port)
    verifier_server = Server(verifier_app, verifier_port)
    try:
        yield Stack(issuer_server, verifier_server, admin, known, token)
    finally:
        verifier_server.stop()
        issuer_server.stop()
        issuer_app.extensions["issuer"].engine.dispose()
