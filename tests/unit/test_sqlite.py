"""SQLite statements run in the event loop: a second writer on the same file waits
without stopping the loop, so the first can finish; it gives up after its patience."""

import asyncio
import sqlite3

import pytest

from shared.sqlite import inline_connector


async def test_a_second_writer_waits_in_the_loop_while_the_first_finishes(tmp_path):
    connect = inline_connector(str(tmp_path / "shared.db"), patience_seconds=10)
    first, second = await connect(), await connect()
    await first.execute("CREATE TABLE note (text TEXT)")
    await first.commit()
    await first.execute("BEGIN IMMEDIATE")
    waiting = asyncio.create_task(second.execute("BEGIN IMMEDIATE"))
    await asyncio.sleep(0.1)
    assert not waiting.done(), "the second writer got the lock the first holds"
    await first.execute("INSERT INTO note VALUES ('先写')")
    await first.execute("COMMIT")
    await asyncio.wait_for(waiting, timeout=5)
    await second.execute("INSERT INTO note VALUES ('后写')")
    await second.execute("COMMIT")
    rows = await (await first.execute("SELECT text FROM note ORDER BY rowid")).fetchall()
    assert [row[0] for row in rows] == ["先写", "后写"]
    await first.close()
    await second.close()


async def test_a_writer_that_never_gets_the_lock_gives_up_after_its_patience(tmp_path):
    path = str(tmp_path / "shared.db")
    holder, impatient = await inline_connector(path, 10)(), await inline_connector(path, 0.2)()
    await holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await asyncio.wait_for(impatient.execute("BEGIN IMMEDIATE"), timeout=5)
    await holder.execute("ROLLBACK")
    await holder.close()
    await impatient.close()
