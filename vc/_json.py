"""Strict JSON and base64url helpers shared by the JOSE and status-list code."""

from __future__ import annotations

import base64
import json
from typing import Any

from vc.errors import MalformedToken


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url without padding; raises ``MalformedToken`` on bad input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise MalformedToken("not valid base64url") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedToken(f"duplicate JSON member {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise MalformedToken(f"JSON constant {name} is not allowed")


def strict_json_object(raw: bytes) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be an object, refusing duplicates, NaN and bad UTF-8."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise MalformedToken("not UTF-8") from exc
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError, but also the int-digits limit (ValueError) and deep nesting
        raise MalformedToken("not valid JSON") from exc
    if not isinstance(value, dict):
        raise MalformedToken("JSON value is not an object")
    return value


def compact_json(value: Any) -> bytes:
    """Minified UTF-8 JSON, the form we sign."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
