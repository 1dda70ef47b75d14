"""Thousands of generated messages on the inbound topics, on a real broker, SQLite and
PostgreSQL: valid reports, reports with hostile fields, arbitrary JSON, random bytes,
documents nested deep, strings up to about a megabyte, NUL, lone surrogates, SQL
lookalikes, odd keys and content-type headers. Once intake has caught up, each message
ended exactly one way: as a case (found by its ``external_id``) or as a dead letter on
``appeal.dlq`` (found by the partition and offset it names). None is lost, none is both,
and every valid report is a case, once however often it was sent; the case timeline
takes every case event without a dead letter. In the soak run (``make soak``, three times
the messages) the whole system runs and the cases flow on through dispatch, claim, sla
and feedback, again without a single dead letter downstream.

Hypothesis generates the messages; they are published in one batch to one running
system, not one system per example.
"""

import dataclasses
import functools
import json
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import StringConstraints, TypeAdapter, ValidationError
from sqlalchemy import select

from services.intake.store import Case
from services.system import SERVICE_NAMES
from shared import topics
from shared.district import load_district
from tests.integration.harness import CONSUMERS, Running, caught_up, read_topic, running_system, settings_for
from tests.strategies import SOAK_MARKS, SQL_LIKE, encode, json_values, mutated, nesting

pytestmark = pytest.mark.integration

MESSAGES = 300
SOAK_MESSAGES = 3_000
LARGEST = 1024 * 1024
"""Values are cut to a MiB at most (Kafka's default limit; a document cut short is JSON no more)."""
DISTRICT = load_district()
STORABLE = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
COMPLAINTS = ("南后街12号楼下装修噪音很大", "三坊七巷路灯不亮", "小区门口垃圾没人清运", "井盖松动，晚上很危险")
CONTENT_TYPES = (None, None, None, b"application/json", b"text/plain", b"application/octet-stream", b"\xff\xfe")
TRIMMED = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True)])
"""Whitespace trimmed the way the report model trims it (not quite Python's str.strip)."""


@dataclass
class Inbound:
    kind: str
    topic: str
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int = -1
    offset: int = -1

    @property
    def external_id(self) -> str | None:
        """The work-order number a case made of this message would carry (whitespace trimmed)."""
        try:
            document = json.loads(self.value)
        except (ValueError, RecursionError):
            return None
        value = document.get("external_id") if isinstance(document, dict) else None
        if not isinstance(value, str):
            return None
        try:
            return TRIMMED.validate_python(value)
        except ValidationError:  # lone surrogates: no case can carry it
            return value


@st.composite
def valid_reports(draw: st.DrawFn) -> dict[str, Any]:
    """Reports intake must register: every field within its limits, text that any store keeps."""
    storable = st.one_of(st.text(STORABLE, max_size=40), st.sampled_from(SQL_LIKE), st.just("😀👨‍👩‍👧‍👦𠜎"))
    description = (draw(st.sampled_from(COMPLAINTS)) + draw(storable) * draw(st.sampled_from([1, 1, 1, 50])))[:4000]
    optional = {
        "citizen_name": st.text(STORABLE, max_size=100),
        "citizen_phone": st.sampled_from(["13800000001", "+86 138-0000-0001", "0591 8765 4321"]),
        "grid_code": st.sampled_from(sorted(DISTRICT.community_by_grid)),
        "address": st.one_of(storable, st.just("南后街12号")),
        "lat": st.floats(-90, 90), "lon": st.floats(-180, 180),
        "category": st.sampled_from(sorted(DISTRICT.category_by_code)),
        "priority": st.sampled_from(["normal", "urgent"]),
    }
    report = {"source": draw(st.sampled_from(["hotline", "grid"])), "description": description,
              "external_id": f"{{index}}{draw(st.text(STORABLE, max_size=12))}"}
    for name, strategy in optional.items():
        if draw(st.booleans()):
            report[name] = draw(strategy)
    return report


@st.composite
def messages(draw: st.DrawFn) -> Inbound:
    kind = draw(st.sampled_from(["valid"] * 6 + ["mutated"] * 4 + ["json", "bytes", "huge", "nested"]))
    if kind == "valid":
        value = encode(draw(valid_reports()), ascii_only=draw(st.booleans()))
    elif kind == "mutated":
        value = encode(draw(mutated(draw(valid_reports()))), ascii_only=draw(st.booleans()))
    elif kind == "json":
        value = encode(draw(json_values), ascii_only=draw(st.booleans()))
    elif kind == "bytes":
        value = draw(st.binary(max_size=2000))
    elif kind == "huge":
        report = {**draw(valid_reports()), "description": draw(st.sampled_from(["噪", "😀", "a"])) * draw(
            st.sampled_from([4000, 4000, 4001, 20_000, 270_000]))}
        kind = "valid" if len(report["description"]) == 4000 else kind
        value = encode(report, ascii_only=False)
    else:
        value = draw(nesting)
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    return Inbound(kind=kind, topic=draw(st.sampled_from(topics.INBOUND_TOPICS)), value=value,
                   key=draw(st.one_of(st.none(), st.binary(max_size=40), st.just("南后街".encode()))),
                   headers=[("content-type", content_type)] if content_type else [])


def generate(count: int) -> list[Inbound]:
    """A fresh copy of the batch for ``count`` (each backend's run fills in where its messages land)."""
    return [dataclasses.replace(message) for message in _generated(count)]


@functools.cache
def _generated(count: int) -> tuple[Inbound, ...]:
    """``count`` messages from Hypothesis (reproducibly), each valid report numbered so
    its work-order number is its own; about one valid report in twenty sent twice. A
    valid report is never cut: the biggest is 4,000 four-byte characters."""
    found: list[Inbound] = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(messages())
    def collect(message: Inbound) -> None:
        found.append(message)

    collect()
    batch: list[Inbound] = []
    for index, message in enumerate(found):
        message.value = message.value.replace(b"{index}", f"FZ{index:06d}-".encode())[:LARGEST]
        batch.append(message)
        if message.kind == "valid" and index % 20 == 0:
            batch.append(Inbound("valid", message.topic, message.value, message.key, message.headers))
    return tuple(batch)


async def publish_all(bootstrap: str, batch: list[Inbound]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=4 * 1024 * 1024, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(m.topic, m.value, key=m.key, headers=m.headers) for m in batch]
        for message, future in zip(batch, futures, strict=True):
            landed = await future
            message.partition, message.offset = landed.partition, landed.offset
    finally:
        await producer.stop()


async def quiet(run: Running, bootstrap: str) -> bool:
    """Every outbox relayed and every consumer group past everything on its topics."""
    for service in run.system.services:
        if await service.relay.pending():
            return False
    for group, consumed in CONSUMERS.items():
        if group.removeprefix("appeal-").split("-")[0] not in {s.name for s in run.system.services}:
            continue
        if not await caught_up(bootstrap, group, consumed):
            return False
    return True


@pytest.mark.parametrize("count", [MESSAGES, pytest.param(SOAK_MESSAGES, marks=SOAK_MARKS, id="soak")])
async def test_every_inbound_message_becomes_one_case_or_one_dead_letter(kafka, tmp_path, database_url, count):
    batch = generate(count)
    # Intake alone registers a few dozen reports a second here (a transaction each); with every
    # service in the process, on SQLite, about five: the everyday run feeds intake alone, the
    # soak run every service.
    names = SERVICE_NAMES if count > MESSAGES else ("intake",)
    async with running_system(settings_for(kafka.bootstrap, tmp_path, database_url=database_url), names=names) as run:
        await publish_all(kafka.bootstrap, batch)
        await run.wait_for(lambda: caught_up(kafka.bootstrap, "appeal-intake", topics.INBOUND_TOPICS),
                           timeout=count / 2)
        await run.wait_for(lambda: quiet(run, kafka.bootstrap), timeout=count / 2)
        async with run.system.service("intake").db.session() as session:
            cases = Counter((await session.execute(select(Case.external_id))).scalars())
        letters = await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)

    parked: dict[tuple[str, int, int], str] = {}
    repeated = []
    downstream = []
    for letter in letters:
        headers = {name: value.decode() for name, value in letter.headers}
        if headers["dlq_topic"] in topics.INBOUND_TOPICS:
            where = headers["dlq_topic"], int(headers["dlq_partition"]), int(headers["dlq_offset"])
            if where in parked:
                repeated.append(where)
            parked[where] = headers["dlq_error"][:200]
        else:
            downstream.append(headers)
    assert not downstream, f"case events dead-lettered downstream: {downstream[:5]}"
    assert not repeated, f"parked twice: {repeated[:10]}"
    assert all(n == 1 for n in cases.values()), [external_id for external_id, n in cases.items() if n > 1][:10]

    problems = []
    accepted: set[str] = set()
    for message in batch:
        where = (message.topic, message.partition, message.offset)
        external_id = message.external_id
        shown = (message.kind, *where, message.headers, parked.get(where), message.value[:120])
        if message.kind == "valid" and (where in parked or external_id not in cases):
            problems.append(("valid report not a case", shown))
        elif where not in parked and external_id not in cases:
            problems.append(("neither a case nor a dead letter (lost)", shown))
        elif where not in parked and external_id is not None:
            accepted.add(external_id)
    assert not problems, f"{len(problems)} of {len(batch)} messages: {problems[:10]}"
    assert set(cases) == accepted, f"cases no accepted message accounts for: {sorted(set(cases) - accepted)[:10]}"
    assert set(parked) <= {(m.topic, m.partition, m.offset) for m in batch}, "a letter for a message never sent"
    kinds = Counter((m.kind, (m.topic, m.partition, m.offset) in parked) for m in batch)
    print(f"{len(batch)} messages: {len(cases)} cases, {len(parked)} dead letters; by (kind, parked): {dict(kinds)}")


async def test_what_the_fuzzing_found_ends_as_a_case_or_a_dead_letter(kafka, tmp_path, database_url):
    """A header value that is not UTF-8 made FastStream skip the record before any handler
    or dead-lettering saw it: lost. A report labelled text/plain was handed over as a string
    and dead-lettered. NUL was stored on SQLite but refused (after retries) by PostgreSQL."""
    def report(external_id: str, **fields: Any) -> bytes:
        return json.dumps({"source": "hotline", "external_id": external_id, "description": "南后街夜间施工噪音很大",
                           **fields}, ensure_ascii=False).encode()

    sent = [Inbound("valid", topics.INBOUND_HOTLINE, report("RX-HDR-1"), None, [("content-type", b"\xff\xfe")]),
            Inbound("bytes", topics.INBOUND_HOTLINE, b"\x00\xff", None, [("trace", b"\xc3\x28")]),
            Inbound("valid", topics.INBOUND_HOTLINE, report("RX-TEXT-1"), None, [("content-type", b"text/plain")]),
            Inbound("nul", topics.INBOUND_HOTLINE, report("RX-NUL-1", address="南后街\u000012号"), None, [])]
    async with running_system(settings_for(kafka.bootstrap, tmp_path, database_url=database_url),
                              names=("intake",)) as run:
        await publish_all(kafka.bootstrap, sent)
        await run.wait_for(lambda: caught_up(kafka.bootstrap, "appeal-intake", topics.INBOUND_TOPICS))
        async with run.system.service("intake").db.session() as session:
            cases = set((await session.execute(select(Case.external_id))).scalars())
        letters = await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)
    parked = {}
    for letter in letters:
        headers = {name: value.decode() for name, value in letter.headers}
        parked[int(headers["dlq_partition"]), int(headers["dlq_offset"])] = headers["dlq_error"]
    assert cases == {"RX-HDR-1", "RX-TEXT-1"}
    assert set(parked) == {(sent[1].partition, sent[1].offset), (sent[3].partition, sent[3].offset)}, parked
    assert "address: Value error, must not contain NUL" in parked[sent[3].partition, sent[3].offset]
