"""The batch consumer every service's subscribers use: one transaction per batch, and a bad
record costs only itself — parked alone on the dead-letter topic while the rest commit."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shared.consuming import BatchConsumer, one_by_one
from shared.db import Database, async_url
from shared.events import CaseClosed, case_event_adapter, event_id_for
from shared.idempotency import ProcessedEvent, Transaction, UnitOfWork
from shared.outbox import OutboxMessage

POISON = "poison"


@dataclass(frozen=True)
class Record:
    value: bytes
    topic: str = "appeal.feedback.events"
    partition: int = 0
    offset: int = 0


@dataclass
class ParkedLetters:
    """Stands in for the dead-letter topic: what was parked, and why."""

    parked: list[tuple[bytes, str]] = field(default_factory=list)

    async def park(self, record: Record, error: Exception) -> None:
        self.parked.append((record.value, str(error)))


@dataclass
class Handling:
    """The handler under test: re-emits each event, refuses the poison one, counts committed work."""

    transactions: list[int] = field(default_factory=list)
    committed: list[uuid.UUID] = field(default_factory=list)
    fail_with: Exception | None = None

    async def __call__(self, tx: Transaction, event: CaseClosed) -> None:
        self.transactions.append(id(tx))
        if self.fail_with is not None:
            raise self.fail_with
        if event.generation == 13:
            raise ValueError(POISON)
        tx.emit(event)
        tx.after_commit(lambda: self.committed.append(event.event_id))


def closed(generation: int = 1) -> CaseClosed:
    case_id = uuid.uuid4()
    return CaseClosed(event_id=event_id_for(case_id, "closed", generation), case_id=case_id,
                      correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), generation=generation)


def records(*events: CaseClosed | bytes) -> list[Record]:
    return [Record(e if isinstance(e, bytes) else e.model_dump_json().encode(), offset=i) for i, e in enumerate(events)]


@pytest.fixture
async def db(database_url):
    database = Database(async_url(database_url), [OutboxMessage.__table__, ProcessedEvent.__table__],
                        schema="appeal_batches_test")
    await database.create_tables()
    yield database
    await database.dispose()


def consumer(db: Database, handling: Handling, letters: ParkedLetters) -> BatchConsumer:
    return BatchConsumer(UnitOfWork(db, None, consumer="batch-test"), letters,  # type: ignore[arg-type]  # a stand-in
                         case_event_adapter.validate_json, one_by_one(handling))


async def outbox_ids(db: Database) -> list[str]:
    async with db.session() as session:
        return list((await session.execute(select(OutboxMessage.event_id).order_by(OutboxMessage.id))).scalars())


async def processed(db: Database) -> int:
    async with db.session() as session:
        return (await session.execute(select(func.count()).select_from(ProcessedEvent))).scalar_one()


async def test_a_batch_is_one_transaction_in_record_order(db):
    handling, letters = Handling(), ParkedLetters()
    events = [closed() for _ in range(50)]
    await consumer(db, handling, letters).consume(records(*events))
    assert len(set(handling.transactions)) == 1
    assert await outbox_ids(db) == [str(e.event_id) for e in events]
    assert handling.committed == [e.event_id for e in events]
    assert await processed(db) == 50 and not letters.parked


async def test_a_record_that_does_not_decode_is_parked_alone(db):
    handling, letters = Handling(), ParkedLetters()
    first, last = closed(), closed()
    await consumer(db, handling, letters).consume(records(first, b"\x00not json", b'{"type": "case.closed"}', last))
    assert [value for value, _ in letters.parked] == [b"\x00not json", b'{"type": "case.closed"}']
    assert await outbox_ids(db) == [str(first.event_id), str(last.event_id)]
    assert len(set(handling.transactions)) == 1, "the bad records cost the others nothing"


async def test_an_event_its_handler_refuses_is_parked_alone_and_the_rest_commit(db):
    handling, letters = Handling(), ParkedLetters()
    before, poison, after = [closed() for _ in range(3)], closed(generation=13), [closed() for _ in range(3)]
    await consumer(db, handling, letters).consume(records(*before, poison, *after))
    assert letters.parked == [(poison.model_dump_json().encode(), POISON)]
    good = [str(e.event_id) for e in (*before, *after)]
    assert await outbox_ids(db) == good
    assert handling.committed == [uuid.UUID(i) for i in good], "the rolled-back attempt counted nothing"
    assert await processed(db) == 6, "the poison is not recorded as processed"


async def test_repeats_within_a_batch_and_across_batches_are_handled_once(db):
    handling, letters = Handling(), ParkedLetters()
    one, two = closed(), closed()
    batches = consumer(db, handling, letters)
    await batches.consume(records(one, one, two))
    await batches.consume(records(two, one))
    assert await outbox_ids(db) == [str(one.event_id), str(two.event_id)]
    assert handling.committed == [one.event_id, two.event_id]


async def test_a_database_outage_is_raised_never_parked(db):
    handling, letters = Handling(fail_with=OSError("connection refused")), ParkedLetters()
    with pytest.raises(OSError):
        await consumer(db, handling, letters).consume(records(closed(), closed()))
    assert not letters.parked and await outbox_ids(db) == [] and await processed(db) == 0
