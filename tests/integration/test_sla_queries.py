"""The sla service's per-case statements read the case's own rows, however many timers
are pending: SQLite once cancelled a case's timers through the (state, due_at) index,
reading every pending timer on each dispatch."""

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from services.sla.store import TABLES, Timer, cancel_stages_statement, cancel_statement
from shared.events import SlaStage
from shared.runtime import service_database
from shared.settings import Settings

pytestmark = pytest.mark.integration


CASES = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(3)]


@pytest.mark.parametrize("statement", [
    cancel_statement(*CASES),  # as a batch of dispatches cancels
    cancel_stages_statement([(case_id, 1) for case_id in CASES], (SlaStage.ACCEPT,)),  # as a run of claims does
], ids=["dispatches", "claims"])
async def test_cancelling_a_cases_timers_reads_only_that_case(tmp_path, statement):
    db = service_database(Settings(data_dir=tmp_path), "sla", TABLES)
    await db.create_tables()
    sql = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    try:
        async with db.engine.connect() as connection:
            plan = " ".join(str(row[-1]) for row in await connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    finally:
        await db.dispose()
    assert f"SEARCH {Timer.__tablename__} USING INDEX" in plan and "(case_id=?" in plan, plan
