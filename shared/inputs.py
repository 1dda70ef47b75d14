"""Input no store can keep, refused at the door with the field named.

JSON allows what the databases do not: PostgreSQL refuses NUL in text, neither SQLite nor
PostgreSQL can encode a lone UTF-16 surrogate (``"\\ud800"``), and Python's JSON parser
reads ``NaN`` and ``Infinity``, which no JSON response may echo back. One check over the
path, the query and the JSON body of every request keeps each route from meeting them.
"""

import math
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if "\x00" in text:
        return "must not contain NUL characters"
    if _SURROGATE.search(text):
        return "is not valid Unicode text (it holds a lone surrogate)"
    return None


def problems(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every place in a parsed JSON value that no store could keep."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield loc, problem
    elif isinstance(value, float) and not math.isfinite(value):
        yield loc, "must be a finite number"
    elif isinstance(value, dict):
        for key, item in value.items():
            key_problem = text_problem(key)
            if key_problem:
                yield (*loc, _printable_key(key)), f"field name {key_problem}"
            yield from problems(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from problems(item, (*loc, index))


def _printable_key(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


async def refuse_unstorable_input(request: Request) -> None:
    """An app-wide dependency: runs before each route's own validation."""
    found = [*problems(dict(request.path_params), ("path",))]
    for name, value in request.query_params.multi_items():
        found.extend(problems(value, ("query", name)))
    if "json" in request.headers.get("content-type", "") and await request.body():
        try:
            body = await request.json()
        except (ValueError, RecursionError):
            # Routes that take a body have FastAPI refuse bad JSON before this runs; the others
            # (claim, resume, the GETs) would crash on it here.
            found.append((("body",), "is not readable JSON (malformed, not UTF-8, or nested too deeply)"))
        else:
            found.extend(problems(body, ("body",)))
    if found:
        raise RequestValidationError(
            [{"loc": loc, "msg": message, "type": "value_error", "input": None} for loc, message in found])
