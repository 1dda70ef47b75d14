"""What a dead letter on ``appeal.dlq`` carries, read and written in one place.

A letter is the original key and value with headers naming where it came from and why
it failed. A message too big to park whole (Kafka refuses records over about 1 MB by
default) is parked cut down: a prefix of its value, ``dlq_truncated: true`` and the
original size, so the partition it came from can move on. A cut-down letter can be read
but never replayed. Pure: no I/O.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError

TOPIC = "dlq_topic"
PARTITION = "dlq_partition"
OFFSET = "dlq_offset"
CONSUMER = "dlq_consumer"
ERROR = "dlq_error"
TRUNCATED = "dlq_truncated"
ORIGINAL_SIZE = "dlq_original_size"
ORIGINAL_KEY_SIZE = "dlq_original_key_size"
REPLAYED_FROM = "dlq_replayed_from"

MAX_LETTER_BYTES = 900_000
"""Below the producer's 1 MiB request limit and Kafka's default ``message.max.bytes``."""
PREFIX_BYTES = 64 * 1024
KEY_PREFIX_BYTES = 1024
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Letter:
    key: bytes | None
    value: bytes
    headers: dict[str, str]


def error_text(error: BaseException) -> str:
    """The reason header: exception type and message, capped so it cannot make the letter too
    big; a validation error names each bad field and what is wrong with it, on one line."""
    if isinstance(error, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in error.errors())
        text = f"{type(error).__name__}: {problems}"
    else:
        text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def write_letter(*, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                 consumer: str, error: BaseException) -> Letter:
    """The letter for one failed record: whole when it fits, else cut down to a prefix."""
    value = value or b""
    headers = {TOPIC: topic, PARTITION: str(partition), OFFSET: str(offset), CONSUMER: consumer,
               ERROR: error_text(error)}
    size = len(key or b"") + len(value) + sum(len(k) + len(v.encode()) for k, v in headers.items())
    if size <= MAX_LETTER_BYTES:
        return Letter(key, value, headers)
    headers |= {TRUNCATED: "true", ORIGINAL_SIZE: str(len(value))}
    if key is not None and len(key) > KEY_PREFIX_BYTES:
        headers[ORIGINAL_KEY_SIZE] = str(len(key))
        key = key[:KEY_PREFIX_BYTES]
    return Letter(key, value[:PREFIX_BYTES], headers)


@dataclass(frozen=True)
class ParkedLetter:
    """A letter as read back from ``appeal.dlq``; its id is where it sits there."""

    dlq_partition: int
    dlq_offset: int
    key: bytes | None
    value: bytes
    topic: str
    partition: str
    offset: str
    consumer: str
    error: str
    truncated: bool
    original_size: int

    @property
    def id(self) -> str:
        return f"{self.dlq_partition}:{self.dlq_offset}"


def read_letter(dlq_partition: int, dlq_offset: int, key: bytes | None, value: bytes | None,
                headers: Iterable[tuple[str, bytes]]) -> ParkedLetter:
    """Tolerant of letters written by hand or by an older version: a missing header reads as "?"."""
    fields = {name: raw.decode("utf-8", errors="replace") for name, raw in headers}
    value = value or b""
    size = fields.get(ORIGINAL_SIZE, "")
    return ParkedLetter(
        dlq_partition=dlq_partition, dlq_offset=dlq_offset, key=key, value=value,
        topic=fields.get(TOPIC, "?"), partition=fields.get(PARTITION, "?"), offset=fields.get(OFFSET, "?"),
        consumer=fields.get(CONSUMER, "?"), error=fields.get(ERROR, ""),
        truncated=fields.get(TRUNCATED) == "true", original_size=int(size) if size.isdigit() else len(value),
    )


def parse_letter_id(text: str) -> tuple[int, int]:
    """``"2:17"`` → (2, 17): a letter's partition and offset on ``appeal.dlq``."""
    partition, sep, offset = text.strip().partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise ValueError(f"a letter id looks like 2:17 (partition:offset on the dead-letter topic), not {text!r}")
    return int(partition), int(offset)
