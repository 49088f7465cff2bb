"""Strict JSON and base64url helpers shared by the JOSE and status-list code."""

from __future__ import annotations

import base64
import json
from typing import Any

from vc.errors import MalformedToken
from vc.strict_json import JSONRefused, loads_object


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url without padding; raises ``MalformedToken`` on bad input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise MalformedToken("not valid base64url") from exc


def strict_json_object(raw: bytes) -> dict[str, Any]:
    """Parse a token part that must be a JSON object (:func:`vc.strict_json.loads_object`),
    raising :class:`MalformedToken` with the reason."""
    try:
        return loads_object(raw)
    except JSONRefused as exc:
        raise MalformedToken(str(exc)) from exc


def compact_json(value: Any) -> bytes:
    """Minified UTF-8 JSON, the form we sign."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
