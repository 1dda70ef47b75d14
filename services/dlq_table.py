"""The letters on ``appeal.dlq`` as `appeal dlq list` prints them: one line each, free text
escaped and shortened so a hostile value cannot break the table or the terminal. Pure."""

import unicodedata
from collections.abc import Sequence

from shared.letters import ParkedLetter

HEADERS = ("ID", "TOPIC", "PARTITION", "OFFSET", "CONSUMER", "CUT DOWN", "ERROR", "VALUE")
ERROR_COLUMNS = 60
PREVIEW_COLUMNS = 50


def render_letters(letters: Sequence[ParkedLetter]) -> str:
    rows = [HEADERS, *(_cells(letter) for letter in letters)]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip()
             for row in rows]
    return "\n".join(lines) + "\n"


def summary(letters: Sequence[ParkedLetter]) -> str:
    if not letters:
        return "no letters on the dead-letter topic."
    cut = sum(letter.truncated for letter in letters)
    noun = "letter" if len(letters) == 1 else "letters"
    return f"{len(letters)} {noun} on the dead-letter topic, {cut} cut down (not replayable)."


def one_line(text: str, columns: int) -> str:
    """Control characters escaped, whitespace runs collapsed, cut to ``columns`` terminal columns."""
    escaped = "".join(char if char.isprintable() or char == " " else _escape(char) for char in " ".join(text.split()))
    return _shorten(escaped, columns)


def preview(value: bytes, columns: int = PREVIEW_COLUMNS) -> str:
    """The start of a value as one line of text: control characters escaped, bytes that are
    not UTF-8 as \\xNN."""
    head = value[: columns * 4]
    text = "".join(char if char.isprintable() else _escape(char)
                   for char in head.decode("utf-8", errors="backslashreplace"))
    return _shorten(text + ("…" if len(head) < len(value) else ""), columns)


def size_text(size: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("KB", 1_000)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _cells(letter: ParkedLetter) -> tuple[str, ...]:
    cut = f"yes, of {size_text(letter.original_size)}" if letter.truncated else "no"
    return (letter.id, one_line(letter.topic, 40), letter.partition, letter.offset, one_line(letter.consumer, 20),
            cut, one_line(letter.error, ERROR_COLUMNS), preview(letter.value))


def _escape(char: str) -> str:
    return repr(char)[1:-1]


def _shorten(text: str, columns: int) -> str:
    if _width(text) <= columns:
        return text
    out, used = [], 0
    for char in text:
        used += _width(char)
        if used > columns - 1:
            break
        out.append(char)
    return "".join(out) + "…"


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def replay_summary(replayed: int, refused: int, not_found: int) -> str:
    parts = [f"replayed {replayed} {'letter' if replayed == 1 else 'letters'}"]
    if refused:
        parts.append(f"skipped {refused} that cannot be replayed")
    if not_found:
        parts.append(f"{not_found} not found")
    return "; ".join(parts) + "."
