"""An unexpected error in a route is a logged 500, and the connection stays usable."""

import asyncio
import io
import json

import uvicorn
from fastapi import FastAPI

from shared.embedded import free_port
from shared.errors import install_error_handlers
from shared.logging import configure_logging


def app_with_a_bug() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/broken")
    async def broken() -> dict[str, str]:
        raise RuntimeError("鼓楼区 bug on purpose")

    @app.get("/fine")
    async def fine() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def two_requests_on_one_connection(port: int) -> list[bytes]:
    """Raw HTTP/1.1 keep-alive: a client library would quietly reconnect and hide a reset."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    try:
        for path in ("/broken", "/fine"):
            writer.write(f"GET {path} HTTP/1.1\r\nHost: appeal.test\r\n\r\n".encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            answers.append(head + await reader.readexactly(length))
    finally:
        writer.close()
    return answers


async def test_a_crash_is_logged_and_the_connection_survives():
    log = io.StringIO()
    configure_logging("INFO", stream=log)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app_with_a_bug(), host="127.0.0.1", port=port, log_config=None,
                                           lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        broken, fine = await two_requests_on_one_connection(port)
    finally:
        server.should_exit = True
        await serving
    assert broken.startswith(b"HTTP/1.1 500")
    body = json.loads(broken.split(b"\r\n\r\n", 1)[1])
    assert body["detail"][0]["type"] == "internal_error"
    assert "bug on purpose" not in body["detail"][0]["msg"], "internals leaked to the client"
    assert fine.startswith(b"HTTP/1.1 200")
    [line] = [json.loads(text) for text in log.getvalue().splitlines() if "http_request_failed" in text]
    assert line["path"] == "/broken" and "RuntimeError" in line["exception"]
