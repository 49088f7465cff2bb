"""Reading what a client sends before any of it reaches a model or the database (pure).

JSON bodies: UTF-8, one object, no duplicate members (two parsers could read different
values), no ``NaN``/``Infinity``, integers of at most :data:`MAX_INT_DIGITS` digits and
nesting at most :data:`MAX_DEPTH` deep: otherwise :class:`BadRequest` (400), never a
``RecursionError`` or ``ValueError`` (500). Text anywhere (JSON strings and member names,
URL parts, form fields, CSV cells) must not hold a NUL character: PostgreSQL cannot store
one and SQLite would store it silently, so it is refused (:class:`ValidationFailed`, 422)
naming where it is.
"""

from __future__ import annotations

import json
from typing import Any

from issuer.errors import BadRequest, ValidationFailed

#: Deepest nesting of arrays and objects a request may have (ours need 3).
MAX_DEPTH = 32

#: Longest integer literal (Python refuses more than 4300 digits with a ``ValueError``).
MAX_INT_DIGITS = 40

NUL = "\x00"
NUL_DETAIL = "contains a NUL character (\\u0000)"


class _Refused(ValueError):
    """A JSON document we refuse for a reason of our own (message for the client)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate JSON member {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``; raises :class:`BadRequest` if it cannot be read as one
    (see the module docstring) and :class:`ValidationFailed` if a string holds a NUL."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_int=_bounded_int
        )
    except _Refused as exc:
        raise BadRequest(f"the body is not acceptable JSON: {exc}") from None
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8") from None
    except RecursionError:
        raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # json.JSONDecodeError, and int() refusing very long numbers
        raise BadRequest(f"the body is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(value, dict):
        raise BadRequest("the body is not a JSON object")
    if depth(value) > MAX_DEPTH:
        raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels")
    refuse_nul(nul_fields(value))
    return value


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


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
