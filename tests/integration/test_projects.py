"""Volunteer projects on a real broker: what the claim service decides reaches
appeal.project.events through its outbox, keyed by project id (so one project's events
keep their order on one partition), and of members claiming at once no more win than
there are slots."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from shared import topics
from shared.events import project_event_adapter
from tests.integration.harness import read_topic, running_system, settings_for

pytestmark = pytest.mark.integration


async def test_project_events_reach_their_topic_keyed_by_project(kafka, tmp_path, database_url):
    async with running_system(settings_for(kafka.bootstrap, tmp_path, database_url=database_url),
                              names=["claim"]) as run:
        start = datetime.now(UTC) + timedelta(days=1)
        body = {"title": "楼道义务清扫", "description": "清理楼道杂物", "skills": ["sanitation"], "place": "虎节路3号",
                "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(), "slots": 2}
        published = await run.http.post("/api/projects", json=body, headers=await run.login("M005"))
        assert published.status_code == 201, published.text
        project_id = published.json()[0]["project_id"]
        members = [f"M{n:03d}" for n in range(1, 13)]
        tokens = [await run.login(member) for member in members]
        results = await asyncio.gather(*(run.http.post(f"/api/projects/{project_id}/claim", headers=token)
                                         for token in tokens))
        assert Counter(r.status_code for r in results) == {200: 2, 409: 10}
        claim = run.system.service("claim")

        async def on_the_topic():
            assert await claim.relay.pending() == 0
            records = await read_topic(kafka.bootstrap, topics.PROJECT_EVENTS)
            assert len(records) == 3
            return records

        records = await run.wait_for(on_the_topic)
        assert {r.key.decode() for r in records} == {project_id}
        assert len({r.partition for r in records}) == 1
        events = [project_event_adapter.validate_json(r.value) for r in sorted(records, key=lambda r: r.offset)]
        assert [e.type for e in events] == ["project.published", "project.slot_claimed", "project.slot_claimed"]
        winners = {members[i] for i, r in enumerate(results) if r.status_code == 200}
        assert {e.member_id for e in events[1:]} == winners
        assert events[0].branch_code == "B0102" and events[0].street_code == "S01"
