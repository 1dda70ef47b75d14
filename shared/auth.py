"""Login, signed expiring bearer tokens and role checks.

Passwords from the district file are hashed (scrypt) as they are loaded and the plain
text is not kept. Tokens are HS256 JWTs signed with ``APPEAL_SECRET_KEY``.
"""

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

import jwt
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from shared.clock import Clock, SystemClock
from shared.district import District

Role = Literal["operator", "member", "supervisor"]
_SCRYPT = {"n": 2**12, "r": 8, "p": 1}


@dataclass(frozen=True)
class Identity:
    user_id: str
    name: str
    role: Role
    unit: str | None = None
    """The member's branch code or the supervisor's street code."""


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
            person.id: (Identity(person.id, person.name, role, unit), hash_password(person.password))  # type: ignore[arg-type]
            for person, role, unit in district.people()
        }

    def authenticate(self, user_id: str, password: str) -> Identity | None:
        entry = self._users.get(user_id)
        if entry is None or not verify_password(password, entry[1]):
            return None
        return entry[0]


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
        claims = jwt.decode(token, self._secret, algorithms=["HS256"],
                            options={"require": ["exp", "sub", "role"], "verify_exp": False, "verify_iat": False})
        if claims["exp"] <= self._clock.now().timestamp():
            raise jwt.ExpiredSignatureError("the token has expired; sign in again")
        return Identity(claims["sub"], claims.get("name", ""), claims["role"], claims.get("unit"))


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


class Auth:
    """FastAPI dependencies for routes: ``Depends(auth.require("operator"))``."""

    def __init__(self, tokens: TokenIssuer) -> None:
        self.tokens = tokens

    def current(self, credentials: HTTPAuthorizationCredentials | None) -> Identity:
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
        try:
            return self.tokens.verify(credentials.credentials)
        except jwt.PyJWTError as error:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {error}",
                                headers={"WWW-Authenticate": "Bearer"}) from None

    def require(self, *roles: Role):
        def dependency(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Identity:
            who = self.current(credentials)
            if who.role not in roles:
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role {' or '.join(roles)}")
            return who

        return dependency

    def optional(self):
        def dependency(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Identity | None:
            return None if credentials is None else self.current(credentials)

        return dependency


def login_router(directory: UserDirectory, tokens: TokenIssuer) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.post("/api/auth/login", response_model=LoginResponse)
    async def login(body: LoginRequest) -> LoginResponse:
        who = directory.authenticate(body.user_id, body.password)
        if who is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown user or wrong password")
        return LoginResponse(access_token=tokens.issue(who), role=who.role, user_id=who.user_id, name=who.name,
                             unit=who.unit)

    return router
