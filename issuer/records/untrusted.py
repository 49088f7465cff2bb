"""Reading what a client sends before any of it reaches a model or the database (pure).

JSON bodies are read by :mod:`vc.strict_json` (UTF-8, one object, no duplicate members, no
``NaN``/``Infinity``, bounded integers and nesting): otherwise :class:`BadRequest` (400),
never a ``RecursionError`` or ``ValueError`` (500). Text anywhere (JSON strings and member names,
URL parts, form fields, CSV cells) must not hold a NUL character: PostgreSQL cannot store
one and SQLite would store it silently, so it is refused (:class:`ValidationFailed`, 422)
naming where it is.
"""

from __future__ import annotations

from typing import Any

from issuer.errors import BadRequest, ValidationFailed
from vc import strict_json

NUL = "\x00"
NUL_DETAIL = "contains a NUL character (\\u0000)"


def json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``, read by :mod:`vc.strict_json`; raises :class:`BadRequest`
    if it cannot be read as one and :class:`ValidationFailed` if a string holds a NUL."""
    try:
        value = strict_json.loads_object(raw)
    except strict_json.JSONRefused as exc:
        raise BadRequest(f"the body is not acceptable JSON: {exc}") from None
    refuse_nul(nul_fields(value))
    return value


def nul_fields(value: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the strings (values or member names) in ``value`` holding a NUL."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(value, prefix)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                found.append(path)
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if NUL in str(key):
                    found.append(child_path.replace(NUL, "\\u0000"))
                else:
                    stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{n}" if path else str(n)) for n, child in enumerate(item))
    return sorted(found)


def refuse_nul(fields: list[str]) -> None:
    """Raise :class:`ValidationFailed` naming ``fields`` (at most 20), if there are any."""
    if not fields:
        return
    shown = fields[:20]
    raise ValidationFailed(
        f"{', '.join(shown)}: {NUL_DETAIL}",
        errors=[{"field": f, "detail": NUL_DETAIL} for f in shown],
    )
