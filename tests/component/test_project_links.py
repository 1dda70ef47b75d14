"""A volunteer project made from appeals appears on each of those cases' timelines, once,
in words for staff and for the citizen."""

import json
import uuid
from datetime import timedelta

from sqlalchemy import select

from services.intake.public import PLAIN_WORDS
from services.intake.staff_timeline import describe
from services.intake.store import Case, TimelineEntry, link_projects
from shared import topics
from shared.district import load_district
from shared.events import ProjectPublished
from tests.unit.factories import T0


def report(external_id: str) -> bytes:
    body = {"source": "grid", "external_id": external_id, "description": "独居老人家中无人照看", "grid_code": "G010101"}
    return json.dumps(body, ensure_ascii=False).encode()


def published(*case_ids: str, title: str = "独居老人上门探访") -> ProjectPublished:
    project_id = uuid.uuid4()
    return ProjectPublished(
        project_id=project_id, correlation_id=project_id, occurred_at=T0, project_no="XM20261121-001", title=title,
        description="每周六上午探访辖区独居老人", skills=["elderly"], place="三坊七巷社区服务站",
        starts_at=T0 + timedelta(days=2), ends_at=T0 + timedelta(days=2, hours=3),
        claim_cutoff=T0 + timedelta(days=1), slots=3, points=10,
        street_code="S01", branch_code=None, publisher_id="U900", case_ids=[uuid.UUID(c) for c in case_ids],
        evaluation_code_hash="ab" * 32)


async def test_a_project_links_its_known_cases_once(service_under_test):
    async with service_under_test("intake") as (service, broker):
        await broker.publish_batch(report("GR-1"), report("GR-2"), report("GR-3"), topic=topics.INBOUND_GRID)
        async with service.db.session() as session:
            cases = list((await session.execute(select(Case.case_id).order_by(Case.seq))).scalars())
        project = published(cases[0], cases[1], str(uuid.uuid4()))
        unrelated = published(title="政策宣讲")

        await broker.publish_batch(project.model_dump_json(), unrelated.model_dump_json(),
                                   project.model_dump_json(), topic=topics.PROJECT_EVENTS)
        await broker.publish_batch(project.model_dump_json(), topic=topics.PROJECT_EVENTS)

        async with service.db.session() as session:
            linked = (await session.execute(
                select(TimelineEntry.case_id, TimelineEntry.details).where(TimelineEntry.type == "project.linked")
            )).all()
        assert sorted(case_id for case_id, _ in linked) == sorted(cases[:2])
        details = json.loads(linked[0].details)
        assert details["project_no"] == "XM20261121-001" and details["title"] == "独居老人上门探访"
        async with service.db.session() as session, session.begin():
            assert await link_projects(session, [project, unrelated]) == 0, "a repeat adds nothing and fails nothing"
        district = load_district(None)
        assert describe("project.linked", details, district) == \
            "林主任（U900）将本案纳入志愿服务项目XM20261121-001「独居老人上门探访」"
        assert PLAIN_WORDS["project.linked"](district, details) == "已纳入志愿服务项目「独居老人上门探访」"
