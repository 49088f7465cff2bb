"""Property-based contract tests generated from each service's own OpenAPI document
(schemathesis), against the services served over real HTTP; the issuer on SQLite and on
PostgreSQL. Every answer must be documented (status code, content type, body schema) and
none may be a 5xx.

Bounded and reproducible: at most :data:`MAX_EXAMPLES` generated requests per operation
in each phase, derandomized (the same requests on every run), no deadline.

The issuer is seeded (tokens, two practitioners with complete records, one of them
certified); a first pass names only what it holds (path parameters and the
``practitioner_id``/``program_id`` members), so success answers are checked against their
schemas too, then the served document as it is, with made-up ids and wrong requests.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.conftest import Stack

pytestmark = [pytest.mark.db, pytest.mark.e2e]

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@schemathesis.deserializer("application/vc+jwt", "application/jwt", "text/csv", "image/svg+xml")
def as_text(ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> str:
    """Compact JWS, CSV and SVG are text: checked against their string schemas (schemathesis
    would skip them, and reads ``application/jwt`` as JSON, which RFC 7519 says it is not)."""
    return response.content.decode("utf-8")


@pytest.fixture(autouse=True)
def _jwt_is_not_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """schemathesis counts ``application/jwt`` among the JSON media types and so refuses a
    compact JWS there; RFC 7519 §10.3.1 registers it for the compact serialization."""
    from schemathesis.core import media_types

    not_json = media_types.JSON_MEDIA_TYPES - {("application", "jwt")}
    monkeypatch.setattr(media_types, "JSON_MEDIA_TYPES", not_json)


def naming_known_ids(document: dict[str, Any], known: dict[str, list[str]]) -> dict[str, Any]:
    """A copy of ``document`` whose path parameters and ``practitioner_id``/``program_id``
    members name only what the issuer holds (the served document's any-string parameters
    would almost never hit one)."""
    out = copy.deepcopy(document)
    for methods in out["paths"].values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in known:
                    parameter["schema"] = {"type": "string", "enum": known[parameter["name"]]}
    for model, schema in out["components"]["schemas"].items():
        if not model.endswith("In"):
            continue  # not a request body
        for name in ("practitioner_id", "program_id"):
            if name in schema.get("properties", {}):
                schema["properties"][name] = {"type": "string", "enum": known[name]}
    return out


def load(url: str, known: dict[str, list[str]] | None = None) -> schemathesis.BaseSchema:
    """The service's own document, as it serves it (or naming ``known`` ids)."""
    document = requests.get(f"{url}/openapi.json", timeout=10).json()
    if known:
        document = naming_known_ids(document, known)
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=url)
    return schema


@pytest.fixture
def issuer_schema(stack: Stack) -> schemathesis.BaseSchema:
    return load(stack.issuer.url)


@pytest.fixture
def issuer_schema_known(stack: Stack) -> schemathesis.BaseSchema:
    return load(stack.issuer.url, stack.known)


@pytest.fixture
def verifier_schema(stack: Stack) -> schemathesis.BaseSchema:
    return load(stack.verifier.url)


def exercise(
    schema: schemathesis.BaseSchema, headers: dict[str, str], *, known_only: bool = False
) -> list[str]:
    """Generate positive and negative requests for every operation (``known_only``:
    positive ones for the operations that name an id), send each, run :data:`CHECKS`;
    what failed, one entry per operation and mode."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if known_only and not (operation.path_parameters or operation.body):
            continue
        # A path parameter is any segment already: wrong ones come from the body and query.
        wrong = (operation.body or operation.query) and not known_only
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if wrong else (GenerationMode.POSITIVE,)
        for mode in modes:

            @SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

            try:
                check()
            except Unsatisfiable:
                continue  # nothing to make wrong: no parameters, no body
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 (all reported together)
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return failures


def test_issuer(
    issuer_schema: schemathesis.BaseSchema, issuer_schema_known: schemathesis.BaseSchema, stack: Stack
) -> None:
    admin = {"Authorization": f"Bearer {stack.admin}"}
    failures = exercise(issuer_schema_known, admin, known_only=True) + exercise(issuer_schema, admin)
    assert not failures, "\n\n".join(failures)


def test_verifier(verifier_schema: schemathesis.BaseSchema) -> None:
    failures = exercise(verifier_schema, {})
    assert not failures, "\n\n".join(failures)
