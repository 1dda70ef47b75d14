"""`appeal dlq list` and `appeal dlq replay`: read the letters parked on ``appeal.dlq`` and,
once the cause is fixed, send their original bytes back to the topic they came from.

Replaying is safe to repeat: consumers are idempotent (inbound reports by external_id,
case events by event_id), so a letter replayed twice is handled once. A cut-down letter
lacks most of its bytes and is never replayed.
"""

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from shared import topics
from shared.letters import REPLAYED_FROM, ParkedLetter, parse_letter_id, read_letter

REQUEST_TIMEOUT_MS = 10_000
FETCH_WAIT_MS = 500
REPLAYABLE_TOPICS = frozenset(topics.ALL_TOPICS) - {topics.DEAD_LETTERS}


class DlqError(RuntimeError):
    """Something the operator can fix; the message says what."""


class Progress:
    """A line on stderr at most once a second, and only for runs long enough to need one."""

    def __init__(self, verb: str, out: TextIO = sys.stderr, every_seconds: float = 1.0) -> None:
        self._verb = verb
        self._out = out
        self._every = every_seconds
        self._next = time.monotonic() + every_seconds

    def __call__(self, done: int, total: int) -> None:
        if time.monotonic() >= self._next:
            print(f"{self._verb} {done}/{total}…", file=self._out, flush=True)
            self._next = time.monotonic() + self._every


def require_bootstrap(bootstrap: str | None) -> str:
    if not bootstrap:
        raise DlqError("APPEAL_KAFKA_BOOTSTRAP is not set: `appeal dlq` reads the dead-letter topic of a running "
                       "Kafka; set it to the brokers' host:port list")
    return bootstrap


async def read_letters(bootstrap: str, progress: Progress | None = None) -> list[ParkedLetter]:
    """Every letter on the dead-letter topic now, oldest first; reads without a consumer group,
    so listing commits nothing and disturbs no one."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                request_timeout_ms=REQUEST_TIMEOUT_MS)
    await _start(consumer, bootstrap)
    try:
        await consumer.topics()
        partitions = [TopicPartition(topics.DEAD_LETTERS, p)
                      for p in sorted(consumer.partitions_for_topic(topics.DEAD_LETTERS) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        total = sum(ends[tp] - starts[tp] for tp in partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord] = []
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batches = await consumer.getmany(*partitions, timeout_ms=FETCH_WAIT_MS)
            records.extend(r for batch in batches.values() for r in batch)
            if progress:
                progress(len(records), total)
    except KafkaError as error:
        raise DlqError(f"reading {topics.DEAD_LETTERS} from Kafka at {bootstrap} failed: {error}") from None
    finally:
        await consumer.stop()
    records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
    return [read_letter(r.partition, r.offset, r.key, r.value, r.headers) for r in records]


@dataclass
class Selection:
    """Which letters to replay, and why the others asked for will not be."""

    letters: list[ParkedLetter] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    refused: list[tuple[ParkedLetter, str]] = field(default_factory=list)
    replayed: int = 0


def select(letters: Sequence[ParkedLetter], ids: Sequence[str], *, every: bool) -> Selection:
    """The letters named by id (or all of them), minus those that cannot be replayed."""
    wanted = [f"{p}:{o}" for p, o in map(parse_letter_id, ids)]
    by_id = {letter.id: letter for letter in letters}
    selection = Selection(not_found=[i for i in dict.fromkeys(wanted) if i not in by_id])
    chosen = letters if every else [by_id[i] for i in dict.fromkeys(wanted) if i in by_id]
    for letter in chosen:
        reason = why_not_replayable(letter)
        if reason:
            selection.refused.append((letter, reason))
        else:
            selection.letters.append(letter)
    return selection


def why_not_replayable(letter: ParkedLetter) -> str | None:
    if letter.truncated:
        return f"it was cut down (only a prefix of its {letter.original_size} bytes was parked)"
    if letter.topic not in REPLAYABLE_TOPICS:
        return f"its original topic {letter.topic!r} is not one this system consumes"
    return None


async def replay_letters(bootstrap: str, ids: Sequence[str], *, every: bool) -> Selection:
    """Replay the letters named by id, or every replayable one; the selection says what was
    replayed and what was not, and why."""
    for letter_id in ids:
        parse_letter_id(letter_id)
    selection = select(await read_letters(bootstrap, Progress(f"reading {topics.DEAD_LETTERS}")), ids, every=every)
    selection.replayed = await replay(bootstrap, selection.letters, Progress("replaying"))
    return selection


async def replay(bootstrap: str, letters: Sequence[ParkedLetter], progress: Progress | None = None) -> int:
    """Publish each letter's original key and value to its original topic, in the order they
    were parked, marked with the letter's id; returns how many were acknowledged."""
    if not letters:
        return 0
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=REQUEST_TIMEOUT_MS)
    await _start(producer, bootstrap)
    try:
        pending = [await producer.send(letter.topic, letter.value, key=letter.key,
                                       headers=[(REPLAYED_FROM, letter.id.encode())]) for letter in letters]
        for done, future in enumerate(pending, start=1):
            await future
            if progress:
                progress(done, len(pending))
    except KafkaError as error:
        raise DlqError(f"replaying to Kafka at {bootstrap} failed: {error}") from None
    finally:
        await producer.stop()
    return len(pending)


async def _start(client: AIOKafkaConsumer | AIOKafkaProducer, bootstrap: str) -> None:
    try:
        await client.start()
    except KafkaError as error:
        await client.stop()
        raise DlqError(f"cannot reach Kafka at {bootstrap}: {error}") from None
