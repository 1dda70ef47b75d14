"""Reads the SLA report out of intake's database, as `appeal report` shows it."""

from datetime import datetime

from services.intake.report import Report, build_report
from services.intake.store import TABLES, report_rows
from shared.district import load_district
from shared.runtime import service_database
from shared.settings import Settings


async def gather_report(settings: Settings, *, since: datetime | None, street_code: str | None) -> Report:
    district = load_district(settings.district_file)
    street_branches = None
    if street_code is not None:
        street = district.street_by_code.get(street_code)
        if street is None:
            known = ", ".join(f"{s.code} {s.name}" for s in district.streets)
            raise ValueError(f"no street {street_code!r} in the district; known streets: {known}")
        street_branches = [community.branch.code for community in street.communities]
    db = service_database(settings, "intake", TABLES)
    try:
        await db.create_tables()
        async with db.session() as session:
            rows = await report_rows(session, since=since, street_code=street_code, street_branches=street_branches)
    finally:
        await db.dispose()
    names = {community.branch.code: community.branch.name for community in district.communities}
    return build_report(rows, names)
