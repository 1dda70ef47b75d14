"""One way to refuse: ``Refused`` from any route or decision module, and one set of
exception handlers that give every refusal, validation error and crash the same shape.

Every 4xx body is ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` — the shape
FastAPI already uses for validation errors, so a client reads one shape whatever went
wrong, and ``loc`` names the field when there is one. A crash is logged with its
traceback and answered with a plain 500 in the same shape, and the connection stays
usable; a database that cannot be reached is a 503 with ``Retry-After`` instead.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import database_unavailable

log = structlog.get_logger()


class Refused(Exception):
    """An expected refusal: the request was understood and is not allowed or not possible.

    ``field`` names the request field at fault (``body.limit``, ``query.page``) for a 422;
    ``headers`` go on the response (``Retry-After`` on a 429)."""

    def __init__(self, status: int, reason: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.field = field
        self.headers = headers or {}


def error_body(message: str, *, loc: Sequence[str | int] = (), kind: str = "refused") -> dict[str, Any]:
    return {"detail": [{"loc": list(loc), "msg": message, "type": kind}]}


class Problem(BaseModel):
    loc: list[str | int] = Field(description='The field at fault, e.g. ["body", "description"]; empty when none is.')
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The one shape of every 4xx and 5xx answer."""

    detail: list[Problem]


REFUSALS = {
    400: "The body is not UTF-8, or is JSON nested too deeply to read.",
    401: "Not signed in, or the token is invalid, expired, or names someone the district file no longer has.",
    403: "Signed in, but not as someone who may do this to this case.",
    404: "No such case or task (here).",
    409: "The case or task is not in a state that allows this.",
    429: "Too many failed attempts; wait as long as Retry-After says.",
}
_RETRY_AFTER = {"Retry-After": {"description": "Whole seconds to wait.", "schema": {"type": "integer"},
                                "required": True}}


def refusals(*entries: int | Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the refusals a route answers, all in the one error shape:
    each entry a status code (described as in ``REFUSALS``) or ``{code: description}``."""
    described: dict[int, str] = {}
    for entry in entries:
        described.update({entry: REFUSALS[entry]} if isinstance(entry, int) else entry)
    return {code: {"model": ErrorBody, "description": text, **({"headers": _RETRY_AFTER} if code == 429 else {})}
            for code, text in described.items()}


def _refused(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Refused)
    loc = error.field.split(".") if error.field else []
    return JSONResponse(error_body(error.reason, loc=loc), status_code=error.status, headers=error.headers)


def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    message = error.detail if isinstance(error.detail, str) else str(error.detail)
    return JSONResponse(error_body(message, kind="http_error"), status_code=error.status_code,
                        headers=getattr(error, "headers", None))


def _invalid(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid"), "type": e.get("type", "value_error")}
                for e in error.errors()]
    return JSONResponse({"detail": _printable(problems)}, status_code=422)


class CrashBarrier:
    """Turns an unexpected error into a logged 500 inside the app.

    An exception that leaves the app reaches the server, which prints the traceback to
    its own stderr and closes the connection even after the 500 was sent, so the client's
    next request on it is reset. Caught here, it goes to the service's log instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watching)
        except Exception as error:
            unavailable = database_unavailable(error)
            where = {"method": scope.get("method"), "path": scope.get("path"),
                     "error": f"{type(error).__name__}: {error}"[:500]}
            if unavailable:
                log.warning("http_database_unavailable", **where)
            else:
                log.error("http_request_failed", **where, exc_info=error)
            if started:
                raise
            await _failure_response(unavailable)(scope, receive, send)


def _failure_response(unavailable: bool) -> JSONResponse:
    if unavailable:
        return JSONResponse(error_body("the database is unavailable right now; nothing was changed, try again shortly",
                                       kind="unavailable"), status_code=503, headers={"Retry-After": "5"})
    return JSONResponse(error_body("internal error; it has been logged", kind="internal_error"), status_code=500)


def _printable(value: Any) -> Any:
    """What a validation error echoes back must itself be valid JSON: no NaN, no lone
    surrogates (the input that caused the error may hold either)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {str(_printable(k)): _printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(v) for v in value]
    return jsonable_encoder(value) if not isinstance(value, (int, bool, type(None))) else value


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_middleware(CrashBarrier)
