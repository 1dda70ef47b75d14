"""Extending a deadline (延期): pure checks and the new times, no I/O."""

from datetime import datetime, timedelta

MAX_EXTENSION = timedelta(days=7)


class ExtensionRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_extension(extend_by: timedelta, *, watch_open: bool, settled: bool, deadline_pending: bool) -> None:
    if extend_by <= timedelta(0) or extend_by > MAX_EXTENSION:
        raise ExtensionRefused(422, f"extend_by must be more than 0 and at most {MAX_EXTENSION.days} days")
    if not watch_open:
        raise ExtensionRefused(409, "the case has no running deadline (closed or in the street queue)")
    if settled:
        raise ExtensionRefused(409, "that stage is already met")
    if not deadline_pending:
        raise ExtensionRefused(409, "that deadline has already been reached")


def moved(moment: datetime, extend_by: timedelta) -> datetime:
    return moment + extend_by
