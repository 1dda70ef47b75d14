"""Run the whole system in-process against a real broker and drive it over HTTP."""

import asyncio
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from services.system import System, build_system
from shared.settings import Settings


def settings_for(bootstrap: str, data_dir: Path, **overrides: Any) -> Settings:
    return Settings(kafka_bootstrap=bootstrap, data_dir=data_dir, kafka_session_timeout_ms=2000,
                    sla_poll_seconds=0.2, outbox_poll_seconds=0.2, **overrides)


@dataclass
class Running:
    system: System
    http: httpx.AsyncClient

    async def login(self, user_id: str, password: str = "demo") -> dict[str, str]:
        response = await self.http.post("/api/auth/login", json={"user_id": user_id, "password": password})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def case(self, case_id: str, headers: dict[str, str]) -> dict[str, Any]:
        response = await self.http.get(f"/api/cases/{case_id}", headers=headers)
        response.raise_for_status()
        return response.json()

    async def wait_for(self, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Poll until ``probe`` returns something truthy without raising AssertionError."""
        async for attempt in AsyncRetrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.1),
                                           retry=retry_if_exception_type(AssertionError), reraise=True):
            with attempt:
                result = await probe()
                assert result, "not yet"
                return result
        return None


@asynccontextmanager
async def running_system(settings: Settings, **build: Any):
    system = build_system(settings, **build)
    await asyncio.gather(*(s.start(settings) for s in system.services))
    transport = httpx.ASGITransport(app=system.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://appeal.test") as http:
            running = Running(system, http)
            await running.wait_for(lambda: _ready(http), timeout=60)
            yield running
    finally:
        await asyncio.gather(*(s.stop() for s in system.services), return_exceptions=True)


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200
