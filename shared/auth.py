"""Login, signed expiring bearer tokens and role checks.

Passwords from the district file are hashed (scrypt) as they are loaded and the plain
text is not kept. Tokens are HS256 JWTs signed with ``APPEAL_SECRET_KEY``. Failed sign-ins
are throttled per user and per client address (``shared.throttle_http``), and the scrypt
check runs in a worker thread so that it never stalls the event loop.
"""

import asyncio
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, StrictStr, ValidationError

from shared.clock import Clock, SystemClock
from shared.district import District, Role
from shared.errors import Refused, refusals
from shared.throttle import Scope
from shared.throttle_http import Throttle, client_address

_SCRYPT = {"n": 2**12, "r": 8, "p": 1}


@dataclass(frozen=True)
class Identity:
    user_id: str
    name: str
    role: Role
    unit: str | None = None
    """The member's branch code, the supervisor's street code, the command center's district code."""

    def oversees(self, district: District, unit: str | None) -> bool:
        """Supervisors look after their own street (its branches and its queue), the
        command center after the whole district; ``unit`` is a branch or street code."""
        if self.role == "command_center":
            return True
        return self.role == "supervisor" and unit is not None and district.street_of_unit(unit) == self.unit


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"{salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    salt, _, digest = stored.partition("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


class UserDirectory:
    def __init__(self, district: District) -> None:
        self._users = {
            person.id: (Identity(person.id, person.name, role, unit), hash_password(person.password))
            for person, role, unit in district.people()
        }
        self._decoy = hash_password(os.urandom(16).hex())

    def identity(self, user_id: str) -> Identity | None:
        entry = self._users.get(user_id)
        return entry[0] if entry else None

    def authenticate(self, user_id: str, password: str) -> Identity | None:
        entry = self._users.get(user_id)
        # An unknown user costs the same hashing as a known one: the answer's timing
        # must not tell which user ids exist.
        matches = verify_password(password, entry[1] if entry else self._decoy)
        return entry[0] if entry and matches else None


class TokenIssuer:
    def __init__(self, secret: str, ttl: timedelta, clock: Clock | None = None) -> None:
        self._secret = secret
        self._ttl = ttl
        self._clock = clock or SystemClock()

    def issue(self, who: Identity) -> str:
        now = self._clock.now()
        claims = {"sub": who.user_id, "name": who.name, "role": who.role, "unit": who.unit,
                  "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Identity:
        """The identity a token claims; whether that person still exists is the directory's call."""
        decoded = jwt.decode(token, self._secret, algorithms=["HS256"],
                             options={"require": ["exp", "sub", "role"], "verify_exp": False, "verify_iat": False})
        try:
            claims = TokenClaims.model_validate(decoded)
        except ValidationError:
            raise jwt.InvalidTokenError("the token's claims are malformed") from None
        if claims.exp <= self._clock.now().timestamp():
            raise jwt.ExpiredSignatureError("the token has expired; sign in again")
        return Identity(claims.sub, claims.name, claims.role, claims.unit)


class TokenClaims(BaseModel):
    """What a signed token must hold; a well-signed token with odd claims is still refused."""

    sub: StrictStr
    role: Role
    exp: float = Field(allow_inf_nan=False)
    name: StrictStr = ""
    unit: StrictStr | None = None


class LoginRequest(BaseModel):
    user_id: str = Field(min_length=1, examples=["U100"])
    password: str = Field(min_length=1, examples=["demo"])


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: Role
    user_id: str
    name: str
    unit: str | None = Field(default=None, description="Branch code of a member, street code of a supervisor.")


_bearer = HTTPBearer(auto_error=False)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class Auth:
    """FastAPI dependencies for routes: ``Depends(auth.require("operator"))``."""

    def __init__(self, tokens: TokenIssuer, directory: "UserDirectory") -> None:
        self.tokens = tokens
        self.directory = directory

    def current(self, credentials: HTTPAuthorizationCredentials | None) -> Identity:
        """The signed-in person, as the district file knows them now: a token for someone
        removed from the file, or whose role or unit changed since, is refused."""
        if credentials is None:
            raise Refused(401, "missing bearer token", headers=_CHALLENGE)
        try:
            claimed = self.tokens.verify(credentials.credentials)
        except jwt.PyJWTError as error:
            raise Refused(401, f"invalid token: {error}", headers=_CHALLENGE) from None
        known = self.directory.identity(claimed.user_id)
        if known is None or (known.role, known.unit) != (claimed.role, claimed.unit):
            raise Refused(401, "this sign-in is no longer valid; sign in again", headers=_CHALLENGE)
        return known

    def require(self, *roles: Role):
        def dependency(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Identity:
            who = self.current(credentials)
            if who.role not in roles:
                raise Refused(403, f"this needs the role {' or '.join(roles)}")
            return who

        return dependency

    def optional(self):
        def dependency(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        ) -> Identity | None:
            return None if credentials is None else self.current(credentials)

        return dependency


async def authenticate(directory: UserDirectory, throttle: Throttle, user_id: str, password: str,
                       address: str) -> Identity:
    """The person, or ``Refused``: 401 for a wrong user or password, 429 while this user
    or address has failed too often (the refusal's ``Retry-After`` says how long)."""
    attempt = await throttle.attempt({Scope.LOGIN_USER: user_id, Scope.LOGIN_ADDRESS: address})
    # scrypt takes tens of milliseconds of CPU: on the event loop it would stall every request.
    who = await asyncio.to_thread(directory.authenticate, user_id, password)
    if who is None:
        await attempt.failed()
        raise Refused(401, "unknown user or wrong password")
    await attempt.succeeded(Scope.LOGIN_USER)
    return who


def login_router(directory: UserDirectory, tokens: TokenIssuer, throttle: Throttle) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.post("/api/auth/login", response_model=LoginResponse, responses=refusals(
        400, {401: "Unknown user or wrong password.",
         429: "Too many failed sign-ins for this user or from this address; see Retry-After."}))
    async def login(body: LoginRequest, request: Request) -> LoginResponse:
        who = await authenticate(directory, throttle, body.user_id, body.password, client_address(request))
        return LoginResponse(access_token=tokens.issue(who), role=who.role, user_id=who.user_id, name=who.name,
                             unit=who.unit)

    return router
