"""The login cookie and the CSRF token every page form carries.

The cookie holds the same signed token the JSON API takes as a bearer token, so any
service (and any replica) can read it; it is HttpOnly and SameSite=Lax. The CSRF token is
an HMAC of a second, random cookie (SameSite=Strict) under ``APPEAL_SECRET_KEY``: a page
on another site can neither read that cookie nor compute the token, so a form it posts
is refused. It works the same for anonymous forms (sign-in, a citizen's rating).
"""

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from shared.auth import Auth, Identity
from shared.district import Role
from shared.errors import Refused

SESSION_COOKIE = "appeal_session"
CSRF_COOKIE = "appeal_csrf"
HOME_BY_ROLE: dict[str, str] = {
    "operator": "/operator",
    "member": "/member",
    "supervisor": "/supervisor",
    "command_center": "/supervisor",
}
ROLE_WORDS: dict[str, str] = {"operator": "话务员", "member": "党员", "supervisor": "街道督办",
                              "command_center": "指挥中心"}


class SignInNeeded(Exception):
    """A page needs a signed-in person; the answer is a redirect to /login."""

    def __init__(self, next_path: str, *, expired: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired

    def location(self) -> str:
        return f"/login?next={quote(self.next_path, safe='/')}" + ("&expired=1" if self.expired else "")


class PageRefused(Exception):
    """A page request that is understood and not allowed; rendered as an error page in words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def sign_in(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", path="/",
                        secure=is_secure(request))


def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


class Csrf:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def token_for(self, cookie: str) -> str:
        return hmac.new(self._secret, f"csrf\n{cookie}".encode(), hashlib.sha256).hexdigest()[:40]

    def issue(self, request: Request) -> tuple[str, str | None]:
        """The token for the page's forms, and a new cookie value when the browser has none."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and 16 <= len(cookie) <= 64:
            return self.token_for(cookie), None
        fresh = secrets.token_urlsafe(24)
        return self.token_for(fresh), fresh

    def valid(self, request: Request, token: str) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE)
        return bool(cookie) and hmac.compare_digest(self.token_for(cookie or ""), token)

    @staticmethod
    def remember(response: Response, request: Request, fresh: str | None) -> None:
        if fresh is not None:
            response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict", path="/",
                                secure=is_secure(request))


class PageAuth:
    """Dependencies for page routes: who is signed in (by the cookie), and the CSRF check."""

    def __init__(self, auth: Auth, csrf: Csrf) -> None:
        self.auth = auth
        self.csrf = csrf

    def identity(self, request: Request) -> Identity | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            return self.auth.current(HTTPAuthorizationCredentials(scheme="Bearer", credentials=token))
        except Refused:
            return None

    def require(self, *roles: Role):
        def dependency(request: Request) -> Identity:
            who = self.identity(request)
            if who is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise SignInNeeded(target, expired=SESSION_COOKIE in request.cookies)
            if who.role not in roles:
                wanted = "或".join(ROLE_WORDS[r] for r in roles)
                raise PageRefused(403, f"此页面需要{wanted}身份，您当前以{ROLE_WORDS[who.role]}身份登录。")
            return who

        return dependency

    def checked_form(self):
        """For every page POST: refuses a form without the token of this browser's cookie."""

        def dependency(request: Request, csrf_token: Annotated[str, Form(max_length=80)] = "") -> None:
            if not self.csrf.valid(request, csrf_token):
                raise PageRefused(403, "页面已过期或来源不明，请返回刷新页面后重新提交。")

        return Depends(dependency)


def safe_next(value: str | None) -> str | None:
    """Only a path on this site: never an address elsewhere (``//evil``, ``https:``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value
