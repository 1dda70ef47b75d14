"""One FastAPI app over one or more services: their routes, login, health and metrics.

The FastStream brokers start in FastAPI's lifespan, so the HTTP server and the Kafka
consumers live and die together.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import Depends, FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from faststream.specification import AsyncAPI

from shared.auth import TokenIssuer, UserDirectory, login_router
from shared.docs_assets import install_docs
from shared.errors import install_error_handlers
from shared.inputs import refuse_unstorable_input
from shared.metrics import CONTENT_TYPE, exposition, merged_exposition
from shared.runtime import Context, Service
from shared.throttle_http import Throttle
from shared.web.site import install_site


class Peers(Protocol):
    """Other processes of the same system whose consumers this process answers for."""

    async def metrics(self) -> list[str]: ...

    async def readiness(self) -> dict[str, dict[str, Any]]: ...


async def readiness(services: Sequence[Service], peers: Peers | None = None) -> dict[str, Any]:
    """/readyz's body: ready when every service here and in the peers is."""
    states = {s.name: s.ready() for s in services}
    stuck = [partition for s in services for partition in s.stuck.current()]
    problems = [problem for s in services for problem in s.problems()]
    for body in (await peers.readiness()).values() if peers is not None else ():
        for name, ready in body.get("services", {}).items():
            states[name] = states.get(name, True) and ready
        stuck += body.get("stuck", [])
        problems += body.get("problems", [])
    return {"ready": all(states.values()), "services": states, "stuck": stuck, "problems": problems}


def build_http_app(context: Context, services: Sequence[Service], *, tokens: TokenIssuer,
                   directory: UserDirectory, title: str = "Appeal loop", peers: Peers | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.gather(*(s.start(context.settings) for s in services))
        try:
            yield
        finally:
            await asyncio.gather(*(s.stop() for s in services), return_exceptions=True)

    app = FastAPI(title=title, version="1.0", lifespan=lifespan, dependencies=[Depends(refuse_unstorable_input)],
                  description="Citizen-appeal closed loop: intake, dispatch, claim, SLA and feedback.",
                  docs_url=None, redoc_url=None)
    install_error_handlers(app)
    # Failed sign-ins count in the first service's database: its replicas share it.
    sign_ins = Throttle.of(services[0].db, context)
    app.include_router(login_router(directory, tokens, sign_ins))
    install_site(app, context, directory, sign_ins)
    for service in services:
        for router in service.routers:
            app.include_router(router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={
        200: {"description": "Every service in the process is consuming."},
        503: {"description": "Not ready: which service is not, and any stuck partition or other problem.",
              "content": {"application/json": {}}}})
    async def readyz() -> JSONResponse:
        body = await readiness(services, peers)
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    asyncapi = AsyncAPI(*(s.broker for s in services), title=f"{title} — Kafka topics", version="1.0",
                        description="Every topic this process consumes or publishes, with its event schemas.")

    @app.get("/asyncapi.json", tags=["ops"], summary="AsyncAPI document of the Kafka topics")
    async def asyncapi_json() -> Response:
        return Response(asyncapi.to_specification().to_json(), media_type="application/json")

    install_docs(app, asyncapi.to_specification)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse,
             responses={200: {"description": "Prometheus text exposition format."}})
    async def metrics() -> Response:
        own = exposition(context.registry)
        if peers is not None:
            own = merged_exposition([own.decode(), *await peers.metrics()])
        return Response(own, media_type=CONTENT_TYPE)

    return app
