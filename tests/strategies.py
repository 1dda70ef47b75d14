"""Hypothesis strategies for hostile input: what an HTTP client or a system pushing onto
the inbound topics might send, by mistake or on purpose.

Text reaches every edge a store or a parser has: empty and huge strings, emoji and
combining marks, NUL, lone UTF-16 surrogates, SQL- and template-injection lookalikes.
Numbers reach NaN, infinities and integers no column can hold. Documents are valid
templates with fields swapped for any of these, arbitrary JSON, JSON cut short, or bytes.
"""

import json
import os
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import strategies as st

SOAK = os.environ.get("APPEAL_SOAK") == "1"
"""Long runs (``make soak``): ten times the generated requests, three times the inbound
messages (and every service behind intake)."""
SOAK_MARKS = (pytest.mark.soak, pytest.mark.skipif(not SOAK, reason="a soak run: set APPEAL_SOAK=1 (make soak)"))


def soak(test: Any) -> Any:
    """Marks a test ``soak``: run only with APPEAL_SOAK=1."""
    for mark in SOAK_MARKS:
        test = mark(test)
    return test


SQL_LIKE = (
    "'; DROP TABLE \"case\"; --",
    "\" OR 1=1 --",
    "1); SELECT pg_sleep(30); --",
    "' UNION SELECT tracking_code FROM \"case\" --",
    "%' OR '1'='1",
    "Robert'); DELETE FROM outbox; --",
    "$$; COPY outbox TO PROGRAM 'id'; $$",
    "\\'; TRUNCATE processed_event; --",
    "南后街'); UPDATE task SET status='resolved'; --",
)
ODD_TEXT = (
    "", " ", "\t\r\n", "\u200b", "\u202e反转", "\ufeff", "\u0301", "e\u0301", "İ", "ß", "𠜎𠜱𠝹", "ﷺ",
    "😀", "👨‍👩‍👧‍👦", "🏳️‍🌈", "\x00", "南后街\x00噪音", "\x7f", "\x1b[31m", "%00", "%s%n", "{{7*7}}", "${jndi:ldap://x/a}",
    "<script>alert(1)</script>", "../../etc/passwd", "NaN", "Infinity", "null", "true", "1e400", "-0", "0x10",
    "13800000001", "138 0000 0001", "B0101", "S01", "M001", "open", "accept", "respond", "30m", "99999999999999d",
    "0s", "-1h", "1e400h",
)

surrogates = st.integers(0xD800, 0xDFFF).map(chr)
"""Lone UTF-16 surrogates: Python strings may hold them, UTF-8 and the databases cannot."""

characters = st.one_of(st.characters(), surrogates, st.just("\x00"), st.sampled_from("噪音南后街😀\u200b'\"\\%_"))

huge_text = st.builds(lambda unit, count: unit * count, st.sampled_from(["噪", "a", "😀", " ", "\x00", "'"]),
                      st.sampled_from([2001, 4000, 4001, 65_536]))
"""Longer than any field allows; a megabyte is for the tests that send one on purpose."""

texts = st.one_of(
    st.text(characters, max_size=60),
    st.sampled_from(SQL_LIKE),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=20),
    huge_text,
)
"""Any string, from empty to 65,536 characters, often with what no store can keep."""

numbers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 5, 6, 2**31, 2**63, 2**64, 2**70, -(2**70), 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)

scalars = st.one_of(texts, numbers, st.booleans(), st.none())

json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(characters, max_size=12), children,
                                                                      max_size=4),
    max_leaves=12,
)
"""Arbitrary JSON, and what Python's JSON reader also takes (NaN, Infinity, surrogates)."""


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any]) -> Any:
    """``template`` with hostile values in it. Four times in ten one string field holds
    any string (so hostile text that passes validation reaches the stores), three times one
    field holds any JSON value or is gone, twice several fields are changed or added, and
    once the whole document is a value of the wrong type. (Hypothesis favours small
    numbers, so the likeliest kinds come first.)"""
    kind = draw(st.integers(0, 9))
    if kind == 9 or not template:
        return draw(st.one_of(scalars, st.lists(st.just(template), max_size=2)))
    document = dict(template)
    if kind <= 3:
        strings = sorted(name for name, value in template.items() if isinstance(value, str))
        if strings:
            document[draw(st.sampled_from(strings))] = draw(texts)
        return document
    names = sorted(template) if kind <= 6 else [*sorted(template), draw(st.text(characters, max_size=12))]
    for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=1 if kind <= 6 else len(names),
                              unique=True)):
        if kind <= 6 and draw(st.booleans()):
            document.pop(name, None)
        else:
            document[name] = draw(json_values)
    return document


def encode(value: Any, *, ascii_only: bool) -> bytes:
    """JSON as Python writes it, NaN included; a lone surrogate written raw becomes bytes
    that are not UTF-8."""
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True).encode("utf-8", "surrogatepass")


@st.composite
def encoded(draw: st.DrawFn, documents: st.SearchStrategy[Any]) -> bytes:
    """A document as bytes: whole, or now and then cut short."""
    raw = encode(draw(documents), ascii_only=draw(st.booleans()))
    if raw and draw(st.integers(0, 19)) == 19:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    return raw


nesting = st.builds(lambda depth, inner: b"[" * depth + inner + b"]" * depth, st.sampled_from([50, 500, 990, 5000]),
                    st.sampled_from([b"", b'"\\u0000"', b"NaN", b'{"a": 1}']))
"""Arrays nested deep enough to trouble a recursive reader."""


def bodies(template: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """What might arrive as a JSON document meant to look like ``template``: mostly the
    template with a few hostile fields (so requests get past validation), else arbitrary
    JSON, bytes, nothing, or arrays nested deep."""
    others = (encoded(json_values), st.binary(max_size=300), st.just(b""), nesting)
    return st.integers(0, 9).flatmap(lambda kind: encoded(mutated(template)) if kind < 6 else others[kind - 6])


def as_url_part(text_or_bytes: str | bytes) -> str:
    """Percent-encoded, every byte that is not plain ASCII included (so invalid UTF-8 can travel)."""
    raw = text_or_bytes if isinstance(text_or_bytes, bytes) else text_or_bytes.encode("utf-8", "surrogatepass")
    return quote(raw, safe="")


url_parts = st.one_of(st.text(characters, max_size=40), st.sampled_from(SQL_LIKE + ODD_TEXT), st.binary(max_size=20),
                      st.uuids().map(str)).map(as_url_part)
"""A path segment or query value as sent on the wire."""
