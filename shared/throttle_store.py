"""Failed-attempt counts in the service's own database, so that every replica sharing
that database (PostgreSQL) sees, and adds to, the same counts.

Keys arrive already hashed: no user id, case id or client address is stored in the clear.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from shared.db import Database
from shared.throttle import LIMITS, Scope, Tally, after_failure

CounterKey = tuple[Scope, str]
"""The scope and the hashed key."""


class FailedAttempts(SQLModel, table=True):
    __tablename__ = "failed_attempt"

    scope: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=64, description="Keyed hash of the user id, case id or address.")
    failures: int = 0
    resets_at: datetime = Field(index=True, description="From then on the row means nothing and may be purged.")
    blocked: bool = False


_TABLE: Table = FailedAttempts.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_COLUMNS = _TABLE.c


class AttemptStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def tallies(self, keys: Sequence[CounterKey]) -> dict[CounterKey, Tally]:
        async with self.db.session() as session:
            rows = await session.execute(select(_TABLE).where(_matching(keys)))
        return {(Scope(row.scope), row.key): _tally(row) for row in rows}

    async def count_failure(self, keys: Sequence[CounterKey], now: datetime) -> list[tuple[CounterKey, Tally, Tally]]:
        """Add one failure to each key: each key's tally before and after.

        The upsert creates the row or locks the existing one, so concurrent failures on
        any replica queue for the row and none is lost; rows are locked in key order so
        two requests sharing keys cannot deadlock."""
        ordered = sorted(set(keys))
        changes = []
        async with self.db.session() as session, session.begin():
            rows = await session.execute(self._lock_or_create(ordered, now))
            for row in sorted(rows, key=lambda r: (r.scope, r.key)):
                key = (Scope(row.scope), row.key)
                before = _tally(row)
                after = after_failure(before, LIMITS[key[0]], now)
                await session.execute(update(_TABLE).where(_matching([key])).values(
                    failures=after.failures, resets_at=after.resets_at, blocked=after.blocked))
                changes.append((key, before, after))
            await session.execute(self._purge(now))
        return changes

    async def forget(self, key: CounterKey) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(delete(_TABLE).where(_matching([key])))

    def _lock_or_create(self, keys: Sequence[CounterKey], now: datetime):
        dialect = sqlite if self.db.is_sqlite else postgresql
        fresh = [{"scope": scope, "key": key, "failures": 0, "resets_at": now, "blocked": False} for scope, key in keys]
        insert = dialect.insert(_TABLE).values(fresh)
        # A no-op update of an existing row still takes its row lock, where DO NOTHING would not.
        return insert.on_conflict_do_update(index_elements=[_COLUMNS.scope, _COLUMNS.key],
                                            set_={"failures": _COLUMNS.failures}).returning(*_COLUMNS)

    @staticmethod
    def _purge(now: datetime):
        """Rows whose tally has run out; rows another request holds are left for next time
        rather than waited for."""
        spent = select(_COLUMNS.scope, _COLUMNS.key).where(_COLUMNS.resets_at <= now).with_for_update(skip_locked=True)
        return delete(_TABLE).where(tuple_(_COLUMNS.scope, _COLUMNS.key).in_(spent))


def _matching(keys: Sequence[CounterKey]):
    return tuple_(_COLUMNS.scope, _COLUMNS.key).in_([(str(scope), key) for scope, key in keys])


def _tally(row) -> Tally:
    return Tally(failures=row.failures, resets_at=row.resets_at, blocked=row.blocked)
