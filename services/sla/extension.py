"""Extending a deadline (延期): pure checks and the new times, no I/O."""

from datetime import datetime, timedelta

from shared.errors import Refused

MAX_EXTENSION = timedelta(days=7)


def check_extension(extend_by: timedelta, *, watch_open: bool, settled: bool, deadline_pending: bool) -> None:
    if extend_by <= timedelta(0) or extend_by > MAX_EXTENSION:
        raise Refused(422, f"extend_by must be more than 0 and at most {MAX_EXTENSION.days} days",
                      field="body.extend_by")
    if not watch_open:
        raise Refused(409, "the case has no running deadline (closed or in the street queue)")
    if settled:
        raise Refused(409, "that stage is already met")
    if not deadline_pending:
        raise Refused(409, "that deadline has already been reached")


def moved(moment: datetime, extend_by: timedelta) -> datetime:
    return moment + extend_by
