"""An independent JSON-LD processor (pyld), offline: a document loader that serves only the
vendored contexts (tests/data/vectors, see SOURCES.md there) plus the ones a test hands it.

:func:`problems` expands a document and lists what a processor in safe mode refuses:
properties dropped for want of a definition, and ``@type`` or ``@id`` values or property
names that did not expand to an absolute IRI (they resolve against a sentinel base, so a
relative one is recognisable).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from pyld import jsonld

VECTORS = Path(__file__).resolve().parent / "data" / "vectors"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_303 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VENDORED = {
    VC_V2: VECTORS / "w3c-vc-2.0" / "credentials-v2.jsonld",
    OB_303: VECTORS / "openbadges-3.0" / "context-3.0.3.json",
}
#: Relative IRIs resolve against this, so none can pass for absolute.
SENTINEL_BASE = "https://relative-iri.invalid/"


def loader(extra: dict[str, Any]) -> Any:
    """A pyld document loader serving the vendored contexts and ``extra`` (URL -> document);
    any other URL fails (nothing is fetched from the network)."""

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url in extra:
            document = copy.deepcopy(extra[url])
        elif url in VENDORED:
            document = json.loads(VENDORED[url].read_text("utf-8"))
        else:
            raise jsonld.JsonLdError(f"{url} is not vendored", "jsonld.LoadDocumentError")
        return {"contextUrl": None, "documentUrl": url, "document": document}

    return load


def _relative(node: Any, path: str = "$") -> list[str]:
    found: list[str] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            found += _relative(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@type" and "@value" not in node:
                for iri in value if isinstance(value, list) else [value]:
                    if iri.startswith(SENTINEL_BASE) or ":" not in iri:
                        found.append(f"{path}: type {iri.removeprefix(SENTINEL_BASE)!r} is undefined")
            elif key == "@id" and (value.startswith(SENTINEL_BASE) or ":" not in value):
                found.append(f"{path}: @id {value!r} is not an absolute IRI")
            elif not key.startswith("@") and (key.startswith(SENTINEL_BASE) or ":" not in key):
                found.append(f"{path}: property {key!r} is undefined")
            if key != "@value":
                found += _relative(value, f"{path}.{key}")
    return found


def expand(document: dict[str, Any], contexts: dict[str, Any] | None = None) -> list[Any]:
    """The expanded document; raises ``AssertionError`` listing every problem."""
    dropped: list[str] = []
    expanded = jsonld.expand(
        copy.deepcopy(document),
        {"documentLoader": loader(contexts or {}), "base": SENTINEL_BASE},
        on_property_dropped=dropped.append,
    )
    issues = [f"property {name!r} was dropped (no context defines it)" for name in dropped]
    issues += _relative(expanded)
    assert not issues, "JSON-LD expansion is not clean:\n" + "\n".join(issues)
    return list(expanded)
