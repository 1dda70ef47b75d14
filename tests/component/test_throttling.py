"""Failed logins and wrong tracking codes are throttled (429 + Retry-After), per user or
case and per client address, with counts kept in the database the replicas share.

The HTTP app of intake and feedback, without a broker, on SQLite and PostgreSQL; a fake
clock stands in for the fifteen minutes.
"""

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

import shared.auth
from services.feedback.store import RatableCase
from services.system import System, build_system
from shared.clock import FakeClock
from shared.privacy import tracking_hash
from shared.settings import Settings
from shared.throttle import Scope
from shared.throttle_store import AttemptStore, FailedAttempts

CITIZEN = "203.0.113.7"
NEIGHBOUR = "198.51.100.23"
OFFICE = "10.0.5.1"
TRACKING_CODE = "K7M2Q9XR4T"


@asynccontextmanager
async def deployed(tmp_path, database_url: str | None, clock: FakeClock) -> AsyncIterator[System]:
    """Intake and feedback behind one HTTP app, as one replica of `appeal run` serves them."""
    settings = Settings(data_dir=tmp_path, database_url=database_url, kafka_bootstrap="127.0.0.1:9")
    system = build_system(settings, ("intake", "feedback"), clock=clock)
    for service in system.services:
        await service.db.create_tables()
    try:
        yield system
    finally:
        for service in system.services:
            await service.db.dispose()


def client(system: System, address: str = CITIZEN) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=system.app, client=(address, 51234))
    return httpx.AsyncClient(transport=transport, base_url="http://appeal.test")


async def login(http: httpx.AsyncClient, user_id: str, password: str = "demo") -> httpx.Response:
    return await http.post("/api/auth/login", json={"user_id": user_id, "password": password})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def system(tmp_path, database_url, clock) -> AsyncIterator[System]:
    async with deployed(tmp_path, database_url, clock) as running:
        yield running


def assert_throttled(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["Retry-After"] == str(retry_after)
    assert "try again" in response.json()["detail"][0]["msg"]


class TestLogin:
    async def test_five_wrong_passwords_then_the_right_one_is_refused(self, system, clock):
        async with client(system) as http:
            for _ in range(5):
                assert (await login(http, "M001", "猜一猜")).status_code == 401
            clock.advance(seconds=60)

            assert_throttled(await login(http, "M001"), retry_after=15 * 60 - 60)
            assert (await login(http, "M002")).status_code == 200, "the address itself is not blocked"
            metrics = (await http.get("/metrics")).text
            assert 'appeal_throttled_total{scope="login_user"} 1.0' in metrics

    async def test_a_block_is_logged_once_without_the_password(self, system):
        async with client(system) as http:
            with capture_logs() as logs:
                for _ in range(5):
                    await login(http, "M001", "猜一猜")
                for _ in range(3):
                    assert (await login(http, "M001")).status_code == 429

        blocks = [entry for entry in logs if entry["event"] == "throttle_blocked"]
        assert blocks == [{"event": "throttle_blocked", "log_level": "warning", "scope": "login_user",
                           "user_id": "M001", "failures": 5, "blocked_until": "2026-11-21T09:15:00+00:00"}]
        assert "猜一猜" not in repr(logs)

    async def test_the_block_ends_when_its_window_has_passed(self, system, clock):
        async with client(system) as http:
            for _ in range(5):
                await login(http, "M001", "wrong")
            clock.advance(minutes=14, seconds=59)
            assert_throttled(await login(http, "M001"), retry_after=1)

            clock.advance(seconds=1)

            assert (await login(http, "M001")).status_code == 200

    async def test_a_successful_login_starts_the_users_count_again(self, system):
        async with client(system) as http:
            for _ in range(4):
                await login(http, "M001", "wrong")
            assert (await login(http, "M001")).status_code == 200
            for _ in range(4):
                await login(http, "M001", "wrong")
            assert (await login(http, "M001")).status_code == 200

            for _ in range(5):
                await login(http, "M001", "wrong")

            assert (await login(http, "M001")).status_code == 429

    async def test_twenty_failures_from_one_address_block_it_for_every_user(self, system):
        async with client(system, OFFICE) as office, client(system, NEIGHBOUR) as elsewhere:
            for user_id in ("M001", "M002", "M003", "M004"):
                for _ in range(4):
                    assert (await login(office, user_id, "wrong")).status_code == 401
            for _ in range(3):
                await login(office, "M005", "wrong")
            assert (await login(office, "M006")).status_code == 200, "19 failures so far"
            await login(office, "M005", "wrong")

            assert_throttled(await login(office, "M007"), retry_after=15 * 60)
            assert (await login(elsewhere, "M007")).status_code == 200

    async def test_unknown_users_count_like_known_ones(self, system):
        async with client(system) as http:
            for _ in range(5):
                assert (await login(http, "M999", "wrong")).status_code == 401
            assert (await login(http, "M999", "wrong")).status_code == 429


async def register_case(system: System) -> tuple[str, str]:
    async with client(system, OFFICE) as office:
        token = (await login(office, "U100")).json()["access_token"]
        response = await office.post("/api/cases", headers={"Authorization": f"Bearer {token}"}, json={
            "source": "hotline", "description": "南后街12号楼下装修噪音很大", "citizen_phone": "13800000001"})
    assert response.status_code == 201, response.text
    return response.json()["case_id"], response.json()["tracking_code"]


class TestCaseView:
    async def test_ten_wrong_codes_block_the_case_from_every_address(self, system, clock):
        case_id, code = await register_case(system)
        async with client(system) as http, client(system, NEIGHBOUR) as neighbour:
            for _ in range(10):
                response = await http.get(f"/api/cases/{case_id}", params={"tracking_code": "AAAAAAAAAA"})
                assert response.status_code in (401, 403)

            assert_throttled(await http.get(f"/api/cases/{case_id}", params={"tracking_code": code}), 15 * 60)
            assert (await neighbour.get(f"/api/cases/{case_id}", params={"tracking_code": code})).status_code == 429

            clock.advance(minutes=15)
            assert (await http.get(f"/api/cases/{case_id}", params={"tracking_code": code})).status_code == 200

    async def test_asking_without_a_code_is_not_a_guess(self, system):
        case_id, code = await register_case(system)
        async with client(system) as http:
            for _ in range(9):
                await http.get(f"/api/cases/{case_id}", params={"tracking_code": "AAAAAAAAAA"})
            for _ in range(5):
                assert (await http.get(f"/api/cases/{case_id}")).status_code == 401
            assert (await http.get(f"/api/cases/{case_id}", params={"tracking_code": code})).status_code == 200
            await http.get(f"/api/cases/{case_id}", params={"tracking_code": "AAAAAAAAAA"})

            assert (await http.get(f"/api/cases/{case_id}", params={"tracking_code": code})).status_code == 429


async def awaiting_rating(system: System) -> str:
    case_id = str(uuid.uuid4())
    async with system.service("feedback").db.session() as session, session.begin():
        session.add(RatableCase(case_id=case_id, correlation_id=str(uuid.uuid4()), state="awaiting",
                                tracking_code_hash=tracking_hash(TRACKING_CODE), branch_code="B0101"))
    return case_id


def rating(code: str) -> dict:
    return {"tracking_code": code, "rating": 5, "resolved": True, "comment": "处理很及时，谢谢"}


class TestFeedback:
    async def test_ten_wrong_codes_then_the_right_one_is_refused_until_the_window_passes(self, system, clock):
        case_id = await awaiting_rating(system)
        async with client(system) as http:
            for _ in range(10):
                assert (await http.post(f"/api/cases/{case_id}/feedback", json=rating("WRONG00000"))).status_code == 403

            assert_throttled(await http.post(f"/api/cases/{case_id}/feedback", json=rating(TRACKING_CODE)), 900)

            clock.advance(minutes=15)
            accepted = await http.post(f"/api/cases/{case_id}/feedback", json=rating(TRACKING_CODE))
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["status"] == "closed"

    async def test_thirty_wrong_codes_from_one_address_across_cases_block_that_address(self, system):
        cases = [await awaiting_rating(system) for _ in range(5)]
        async with client(system) as http, client(system, NEIGHBOUR) as neighbour:
            for case_id, wrong in zip(cases, (8, 8, 8, 6), strict=False):
                for _ in range(wrong):
                    await http.post(f"/api/cases/{case_id}/feedback", json=rating("WRONG00000"))

            assert_throttled(await http.post(f"/api/cases/{cases[4]}/feedback", json=rating(TRACKING_CODE)), 900)
            assert (await neighbour.post(f"/api/cases/{cases[4]}/feedback",
                                         json=rating(TRACKING_CODE))).status_code == 200


async def test_replicas_on_one_database_share_the_counts(tmp_path, database_url, clock):
    async with (deployed(tmp_path, database_url, clock) as first, deployed(tmp_path, database_url, clock) as second,
                client(first) as one, client(second) as other):
        for _ in range(3):
            assert (await login(one, "M001", "wrong")).status_code == 401
        for _ in range(2):
            assert (await login(other, "M001", "wrong")).status_code == 401

        assert (await login(one, "M001")).status_code == 429
        assert (await login(other, "M001")).status_code == 429


async def test_concurrent_failures_on_two_replicas_are_all_counted(tmp_path, database_url, clock):
    async with (deployed(tmp_path, database_url, clock) as first, deployed(tmp_path, database_url, clock) as second,
                client(first) as one, client(second) as other):
        answers = await asyncio.gather(*(login(http, "M001", "wrong") for http in (one, other, one, other)))
        assert [a.status_code for a in answers] == [401] * 4
        assert (await login(one, "M001", "wrong")).status_code == 401

        assert (await login(other, "M001")).status_code == 429


async def test_many_concurrent_failures_on_two_replicas_lose_no_count(tmp_path, database_url, clock):
    async with deployed(tmp_path, database_url, clock) as first, deployed(tmp_path, database_url, clock) as second:
        stores = [AttemptStore(replica.service("intake").db) for replica in (first, second)]
        key = (Scope.TRACKING_ADDRESS, "鼓楼区-某个地址的散列")

        await asyncio.gather(*(stores[n % 2].count_failure([key], clock.now()) for n in range(24)))

        assert (await stores[0].tallies([key]))[key].failures == 24


async def test_spent_counts_are_purged(system, clock):
    async with client(system) as http:
        await login(http, "M001", "wrong")
        clock.advance(minutes=15)
        await login(http, "M002", "wrong")
    async with system.service("intake").db.session() as session:
        rows = (await session.execute(select(FailedAttempts))).scalars().all()

    assert sorted((row.scope, row.failures) for row in rows) == [("login_address", 1), ("login_user", 1)]


async def test_neither_user_ids_nor_addresses_nor_codes_are_stored_in_the_clear(system):
    case_id = await awaiting_rating(system)
    async with client(system) as http:
        await login(http, "M001", "猜一猜")
        await http.post(f"/api/cases/{case_id}/feedback", json=rating("WRONG00000"))
    stored = []
    for service in system.services:
        async with service.db.session() as session:
            rows = (await session.execute(select(FailedAttempts))).scalars()
            stored.extend(str(value) for row in rows for value in row.model_dump().values())

    assert len(stored) > 0
    assert not [v for v in stored if any(secret in v for secret in ("M001", CITIZEN, "猜一猜", "WRONG00000", case_id))]


async def test_password_checks_leave_the_event_loop_free(tmp_path, clock, monkeypatch):
    """While a (deliberately held) password check runs, the app still answers /healthz."""
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()
    real_verify = shared.auth.verify_password

    def held_verify(password: str, stored: str) -> bool:
        entered.set()
        release.wait(timeout=5)
        finished.set()
        return real_verify(password, stored)

    monkeypatch.setattr(shared.auth, "verify_password", held_verify)
    async with deployed(tmp_path, None, clock) as system, client(system) as http:
        logging_in = asyncio.create_task(login(http, "M001"))
        assert await asyncio.to_thread(entered.wait, 5)

        health = await http.get("/healthz")
        verify_was_still_running = not finished.is_set()
        release.set()

        assert health.status_code == 200
        assert verify_was_still_running, "/healthz waited for the password check"
        assert (await logging_in).status_code == 200
