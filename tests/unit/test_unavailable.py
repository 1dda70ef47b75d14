"""Which failures mean "the database is away" (wait and retry) rather than "this message
is bad" (park it on the dead-letter topic)."""

import asyncpg
import pytest
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.db import database_unavailable
from shared.events import CaseReport


def wrapped(original: BaseException, *, invalidated: bool = False) -> DBAPIError:
    """As SQLAlchemy raises a driver error: the driver's error as ``orig`` and as the cause."""
    error = OperationalError("SELECT 1", {}, original, connection_invalidated=invalidated)
    error.__cause__ = original
    return error


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(111, "Connection refused"),
    wrapped(ConnectionRefusedError(111, "Connection refused")),
    wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")),
    wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
    wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
    wrapped(RuntimeError("server closed the connection unexpectedly"), invalidated=True),
    PoolTimeout("QueuePool limit of size 5 overflow 10 reached"),
], ids=["refused", "refused-wrapped", "admin-shutdown", "starting-up", "closed-midway", "invalidated", "pool"])
def test_the_database_being_away_is_not_the_message_s_fault(error):
    assert database_unavailable(error)


def test_bad_input_and_constraint_violations_are():
    with pytest.raises(ValidationError) as invalid:
        CaseReport.model_validate({"source": "fax"})
    constraint = IntegrityError("INSERT …", {}, asyncpg.exceptions.UniqueViolationError("duplicate key"))
    for error in (invalid.value, constraint, ValueError("no such grid"), KeyError("branch")):
        assert not database_unavailable(error)


def test_a_cause_deep_in_the_chain_counts():
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as reset:
            raise RuntimeError("could not load the case") from reset
    except RuntimeError as outer:
        assert database_unavailable(outer)
