"""Throttling as the HTTP routes use it: a blocked caller gets 429 with ``Retry-After``
before anything is checked, and a failed attempt is counted for each of its subjects
(the user or case, and the client address).

The client address is ``request.client.host``. Behind a reverse proxy that is the
proxy's address unless uvicorn is told to trust it (``--forwarded-allow-ips``), in which
case it is the address the proxy forwarded.
"""

import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry, Counter
from starlette.exceptions import HTTPException

from shared.clock import Clock
from shared.db import Database
from shared.errors import Refused
from shared.throttle import Scope, blocked_until, retry_after_seconds
from shared.throttle_store import AttemptStore

if TYPE_CHECKING:
    from shared.runtime import Context

log = structlog.get_logger()

_WHAT_FAILED = {Scope.LOGIN_USER: "sign-in attempts", Scope.LOGIN_ADDRESS: "sign-in attempts",
                Scope.TRACKING_CASE: "tracking-code attempts", Scope.TRACKING_ADDRESS: "tracking-code attempts"}
_LOGGED_AS = {Scope.LOGIN_USER: "user_id", Scope.TRACKING_CASE: "case_id"}
"""Addresses are logged only by their hashed key."""


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Throttle:
    """Counts failed attempts in ``db`` (shared by the replicas of a service) by a keyed
    hash of each subject, so neither ids nor addresses are stored in the clear."""

    def __init__(self, db: Database, clock: Clock, secret: str, registry: CollectorRegistry) -> None:
        self.store = AttemptStore(db)
        self.clock = clock
        self._secret = secret.encode()
        self._refused = _throttled_counter(registry)

    @classmethod
    def of(cls, db: Database, context: "Context") -> "Throttle":
        return cls(db, context.clock, context.settings.secret_key.get_secret_value(), context.registry)

    async def attempt(self, subjects: Mapping[Scope, str]) -> "Attempt":
        """Refuses (429) while any subject is blocked; otherwise the attempt may go ahead."""
        keys = {scope: self._key(scope, value) for scope, value in subjects.items()}
        now = self.clock.now()
        tallies = await self.store.tallies(list(keys.items()))
        blocks = [(until, scope) for scope, key in keys.items()
                  if (until := blocked_until(tallies.get((scope, key)), now)) is not None]
        if blocks:
            until, scope = max(blocks)
            self._refused.labels(scope.value).inc()
            wait = retry_after_seconds(until, now)
            raise Refused(429, f"too many failed {_WHAT_FAILED[scope]}; try again in {_in_words(wait)}",
                          headers={"Retry-After": str(wait)})
        return Attempt(self, dict(subjects), keys, on_record={scope for scope, _ in tallies})

    def _key(self, scope: Scope, value: str) -> str:
        subject = f"{scope.value}\n{value}".encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, subject, hashlib.sha256).hexdigest()


@dataclass
class Attempt:
    throttle: Throttle
    subjects: dict[Scope, str]
    keys: dict[Scope, str]
    on_record: set[Scope]
    """Scopes that had failures counted when the attempt began."""

    async def failed(self) -> None:
        now = self.throttle.clock.now()
        changes = await self.throttle.store.count_failure(list(self.keys.items()), now)
        for (scope, key), before, after in changes:
            until = blocked_until(after, now)
            if until is not None and blocked_until(before, now) is None:
                log.warning("throttle_blocked", scope=scope.value, failures=after.failures,
                            blocked_until=until.isoformat(), **_logged(scope, key, self.subjects[scope]))

    async def succeeded(self, *forget: Scope) -> None:
        """Clears the counts of ``forget`` (a user who signed in); other counts stay."""
        for scope in forget:
            if scope in self.on_record:
                await self.throttle.store.forget((scope, self.keys[scope]))


def tracking_code_attempts(db: Database, context: "Context", *, given_in_query: str | None = None,
                           case_in_path: str = "case_id") -> Any:
    """A dependency for a route a tracking code opens (its path names the case in
    ``case_in_path``): 429 while the case or the caller's address is blocked; a 401 or 403
    refusal of the request counts as a wrong code. With ``given_in_query`` only requests
    that carry that query parameter are throttled: the others are staff, who sign in instead."""
    throttle = Throttle.of(db, context)

    async def tracking_code_attempt(request: Request) -> AsyncIterator[None]:
        if given_in_query is not None and given_in_query not in request.query_params:
            yield
            return
        attempt = await throttle.attempt({Scope.TRACKING_CASE: request.path_params[case_in_path],
                                          Scope.TRACKING_ADDRESS: client_address(request)})
        try:
            yield
        except Exception as error:
            if _refusal_status(error) in (401, 403):
                await attempt.failed()
            raise

    # "function": the failure is counted before the refusal is sent, not after.
    return Depends(tracking_code_attempt, scope="function")


def _refusal_status(error: Exception) -> int | None:
    if isinstance(error, HTTPException):
        return error.status_code
    if isinstance(error, Refused):
        return error.status
    return None


def _logged(scope: Scope, key: str, value: str) -> dict[str, str]:
    return {_LOGGED_AS[scope]: value} if scope in _LOGGED_AS else {"address_key": key[:16]}


def _in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _throttled_counter(registry: CollectorRegistry) -> Counter:
    """One counter per registry, shared by every throttle living in it (`appeal dev`
    serves login and every service from one registry)."""
    existing = registry._names_to_collectors.get("appeal_throttled_total")
    if isinstance(existing, Counter):
        return existing
    return Counter("appeal_throttled", "Requests refused with 429 after too many failed attempts, by what was "
                   "blocked.", ["scope"], registry=registry)
