"""One strict JSON reader for everything that arrives from outside: tokens, request bodies.

UTF-8, no duplicate member names (two parsers could read different values), no ``NaN`` or
``Infinity``, integers of at most :data:`MAX_INT_DIGITS` digits and nesting at most
:data:`MAX_DEPTH` deep. Anything else raises :class:`JSONRefused` with a readable reason,
never a ``RecursionError`` or the ``ValueError`` Python raises past 4,300 digits.
"""

from __future__ import annotations

import json
from typing import Any

#: Deepest nesting of arrays and objects accepted (our documents need 5).
MAX_DEPTH = 32
#: Longest integer literal accepted.
MAX_INT_DIGITS = 40


class JSONRefused(ValueError):
    """A JSON text we do not read; the message says why."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONRefused(f"duplicate JSON member {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise JSONRefused(f"JSON constant {name} is not allowed")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONRefused(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


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
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def loads(raw: bytes | str) -> Any:
    """The JSON value in ``raw``, read strictly (see the module docstring)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_int=_bounded_int
        )
    except JSONRefused:
        raise
    except UnicodeDecodeError:
        raise JSONRefused("not UTF-8") from None
    except RecursionError:
        raise JSONRefused(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # json.JSONDecodeError
        raise JSONRefused(f"not valid JSON ({str(exc)[:120]})") from None
    if depth(value) > MAX_DEPTH:
        raise JSONRefused(f"nested deeper than {MAX_DEPTH} levels")
    return value


def loads_object(raw: bytes | str) -> dict[str, Any]:
    """Like :func:`loads`, for a text that must be one JSON object."""
    value = loads(raw)
    if not isinstance(value, dict):
        raise JSONRefused("not a JSON object")
    return value
