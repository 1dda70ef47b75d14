"""Rows a batch's handlers look up, read for the whole batch in one query.

Handled one event after another, a batch would read one row per event: a round trip each,
and before each read the session flushes what the events before it wrote, one statement
per row. Loaded first, the rows are found in memory, and what the handlers write reaches
the database together when the transaction commits.
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


def _name(column: Any) -> tuple[type, str]:
    # Not the attribute itself as a key: SQLAlchemy's == on a column builds an expression.
    return column.class_, column.key


class Rows:
    """Rows by a unique column (a primary key or a unique one), loaded for a batch."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._loaded: dict[tuple[type, str], dict[Any, Any]] = {}

    async def load(self, column: Any, keys: Iterable[Any], *, lock: bool = False) -> None:
        """Read the rows with these keys in one query; ``lock`` takes their row locks (in
        key order, as every batch does, so two batches never wait on each other in a ring)."""
        known = self._loaded.setdefault(_name(column), {})
        wanted = sorted(set(keys) - known.keys())
        if not wanted:
            return
        query = select(column.class_).where(column.in_(wanted)).order_by(column)
        if lock:
            query = query.with_for_update()
        known.update(dict.fromkeys(wanted))
        for row in (await self.session.execute(query)).scalars():
            known[getattr(row, column.key)] = row

    async def get(self, column: Any, key: Any, *, lock: bool = False) -> Any:
        """The row, from memory if the batch loaded its key, else from the database."""
        known = self._loaded.get(_name(column))
        if known is not None and key in known:
            return known[key]
        query = select(column.class_).where(column == key)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    def add(self, row: Any) -> None:
        """A new row, found by ``get`` from now on."""
        self.session.add(row)
        for (model, attribute), known in self._loaded.items():
            if isinstance(row, model):
                known[getattr(row, attribute)] = row
