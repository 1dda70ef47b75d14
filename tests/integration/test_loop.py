import json

import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from tests.integration.harness import running_system, settings_for

pytestmark = pytest.mark.integration


async def test_hotline_case_goes_round_the_whole_loop(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
        await producer.start()
        report = {"source": "hotline", "external_id": "RX-0001", "description": "南后街夜间施工噪音很大",
                  "citizen_name": "王女士", "citizen_phone": "13800000001", "address": "南后街12号"}
        await producer.send_and_wait(topics.INBOUND_HOTLINE, json.dumps(report, ensure_ascii=False).encode())
        await producer.stop()
        operator = await run.login("U100")

        async def listed():
            page = (await run.http.get("/api/cases", params={"external_id": "RX-0001"}, headers=operator)).json()
            return page["items"] and page["items"][0]["status"] == "dispatched" and page["items"][0]

        case = await run.wait_for(listed)
        assert case["branch_code"] == "B0101"
        member = await run.login("M001")

        async def claim():
            # The claim service learns of the dispatch from its own topic; it may be a moment behind.
            response = await run.http.post(f"/api/tasks/{case['case_id']}/claim", headers=member)
            assert response.status_code in (200, 404), response.text
            return response.status_code == 200 and response.json()

        claimed = await run.wait_for(claim)
        assert claimed["case"]["citizen_phone_masked"] == "138****0001"
        assert (await run.http.post(f"/api/tasks/{case['case_id']}/respond", json={"note": "已联系"},
                                    headers=member)).status_code == 200
        assert (await run.http.post(f"/api/tasks/{case['case_id']}/resolve", json={"note": "已停工"},
                                    headers=member)).status_code == 200

        async def rated():
            r = await run.http.post(f"/api/cases/{case['case_id']}/feedback",
                                    json={"tracking_code": case["tracking_code"], "rating": 5, "resolved": True})
            return r.status_code == 200 and r.json()

        assert (await run.wait_for(rated))["status"] == "closed"

        async def closed():
            detail = await run.case(case["case_id"], operator)
            return detail["status"] == "closed" and detail

        detail = await run.wait_for(closed)
        types = [e["type"] for e in detail["timeline"]]
        assert types[:1] == ["case.registered"] and "case.closed" in types
        for expected in ("case.dispatched", "task.claimed", "task.responded", "task.resolved", "feedback.recorded"):
            assert expected in types
        sla = detail["sla"]
        assert sla["resolved"] is True and (sla["rating"], sla["satisfied"]) == (5, True)
        assert sla["accept_breached"] is False and sla["respond_breached"] is False
        assert 0 <= sla["seconds_to_accept"] <= sla["seconds_to_respond"] < 600
        assert (sla["escalation_count"], sla["extension_count"]) == (0, 0)
