import os
import uuid

import asyncpg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("APPEAL_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path):
    """A database URL for the services, on each backend. PostgreSQL runs only when
    APPEAL_TEST_POSTGRES_URL names a server; each test gets a fresh database there."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'appeal.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("set APPEAL_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run on PostgreSQL")
    server = make_url(POSTGRES_URL).set(drivername="postgresql")
    name = f"appeal_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
