"""A bounded fuzz of every endpoint of both services: hostile paths, query strings,
bodies (JSON of any shape, nested deep, NUL characters, raw bytes, forms, CSV) and
callers; no answer may be a 5xx. The issuer runs on each database; the verifier, which
has none, once. Bounded (a fixed seed and a few hundred examples per run) so CI stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from issuer import access
from issuer.runtime import Runtime
from tests.unit.verifier.fake_issuer import Clock, FakeIssuer, Network
from verifier import create_app as create_verifier

pytestmark = [pytest.mark.db, pytest.mark.http]

EXAMPLES = 200

#: Text a hostile client would try: NUL and other controls, very long, non-ASCII, ids.
text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(
        [
            "\u0000",
            "a\u0000b",
            "00000000-0000-4000-8000-000000000000",
            "..",
            "%",
            "-1",
            "9" * 5000,
            "x" * 3000,
            "' OR 1=1 --",
            "<script>",
            "true",
            "null",
        ]
    ),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes | None, str | None]:
    kind = draw(st.sampled_from(["none", "json", "object", "deep", "bytes", "form", "csv"]))
    if kind == "none":
        return None, None
    if kind == "json":
        return json.dumps(draw(json_values)).encode(), "application/json"
    if kind == "object":
        keys = [
            "given_name",
            "license",
            "kind",
            "program_id",
            "practitioner_id",
            "hours",
            "live_models",
            "reason",
            "role",
            "label",
            "expires_in_days",
            "dry_run",
            "credential",
            "qr",
            "token",
        ]
        return json.dumps(
            draw(st.dictionaries(st.sampled_from(keys), json_values, max_size=6))
        ).encode(), "application/json"
    if kind == "deep":
        depth = draw(st.sampled_from([33, 1_000, 10_001]))
        return b'{"a":' + b"[" * depth + b"]" * depth + b"}", "application/json"
    if kind == "bytes":
        return draw(st.binary(max_size=300)), draw(
            st.sampled_from(["application/json", "text/csv", "image/png", "application/octet-stream"])
        )
    if kind == "form":
        fields = draw(
            st.dictionaries(
                st.sampled_from(
                    ["email", "password", "csrf_token", "reason", "q", "program_id", "token", "credential"]
                ),
                text,
                max_size=4,
            )
        )
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    header = "email,given_name,family_name,license_number,kind,date"
    rows = draw(st.lists(st.lists(text, min_size=1, max_size=6), max_size=3))
    return (
        header + "\r\n" + "\r\n".join(",".join(json.dumps(c) for c in r) for r in rows)
    ).encode(), "text/csv"


def _routes(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    )


@st.composite
def requests(draw: st.DrawFn, routes: list[tuple[str, str]], secrets: list[str | None]) -> dict[str, Any]:
    rule, method = draw(st.sampled_from(routes))
    parts = [quote(draw(text), safe="") or "x" if p.startswith("<") else p for p in rule.split("/")]
    query = urlencode(
        draw(
            st.dictionaries(
                st.sampled_from(["program", "dry_run", "skip_invalid", "issuer", "view", "paper", "q", "x"]),
                text,
                max_size=3,
            )
        )
    )
    body, content_type = draw(bodies())
    secret = draw(st.sampled_from(secrets))
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return {
        "path": "/".join(parts) + (f"?{query}" if query else ""),
        "method": method,
        "data": body,
        "content_type": content_type,
        "headers": headers,
    }


@pytest.fixture
def issuer_secrets(issuer_app: Flask) -> list[str | None]:
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        return [None, "bxc_garbage"] + [
            access.create_token(session, rt.ctx, r, f"fuzz {r}") for r in access.ROLES
        ]


def test_no_issuer_endpoint_answers_5xx(issuer_app: Flask, issuer_secrets: list[str | None]) -> None:
    client = issuer_app.test_client()

    @seed(20261202)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests(_routes(issuer_app), issuer_secrets))
    def run(request: dict[str, Any]) -> None:
        answer = client.open(**request)
        assert answer.status_code < 500, (request["method"], request["path"][:200], answer.get_data()[:500])

    run()  # a 500 fails the assertion with the request that caused it


@pytest.fixture
def verifier_app(tmp_path: Path) -> Flask:
    clock = Clock()
    network = Network()
    issuer = FakeIssuer(clock, network=network)
    registry = tmp_path / "trusted-issuers.json"
    registry.write_text(json.dumps({"issuers": [issuer.entry()]}), encoding="utf-8")
    return create_verifier(
        {"TESTING": True, "TRUSTED_ISSUERS": str(registry)}, fetch=network.fetch, clock=clock
    )


def test_no_verifier_endpoint_answers_5xx(verifier_app: Flask) -> None:
    client = verifier_app.test_client()

    @seed(20261202)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests(_routes(verifier_app), [None]))
    def run(request: dict[str, Any]) -> None:
        answer = client.open(**request)
        assert answer.status_code < 500, (request["method"], request["path"][:200], answer.get_data()[:500])

    run()  # a 500 fails the assertion with the request that caused it
