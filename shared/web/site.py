"""What every service's pages share: the landing page, sign-in and sign-out, the
stylesheet and script, and the error pages."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from shared.auth import UserDirectory, authenticate
from shared.errors import Refused
from shared.runtime import Context
from shared.throttle_http import Throttle, client_address
from shared.web.rendering import Pages
from shared.web.session import HOME_BY_ROLE, Csrf, PageAuth, PageRefused, SignInNeeded, safe_next, sign_in, sign_out

STATIC = Path(__file__).parent / "static"


def page_auth(context: Context) -> PageAuth:
    return PageAuth(context.auth, Csrf(context.settings.secret_key.get_secret_value()))


def service_pages(context: Context, template_dir: Path) -> Pages:
    """The renderer a service's pages use: its own templates over the shared layout."""
    return Pages.build(page_auth(context), context.district, context.clock, template_dir)


def install_site(app: FastAPI, context: Context, directory: UserDirectory, throttle: Throttle) -> None:
    pages = Pages.build(page_auth(context), context.district, context.clock)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(_site_router(pages, directory, throttle, context.settings.token_ttl_seconds))

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(_request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInNeeded)
        response = RedirectResponse(error.location(), status_code=303)
        if error.expired:
            sign_out(response)
        return response

    @app.exception_handler(PageRefused)
    async def page_refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, PageRefused)
        return pages.render(request, "error.html", who=pages.auth.identity(request), status_code=error.status,
                            message=error.message)


def _site_router(pages: Pages, directory: UserDirectory, throttle: Throttle, ttl_seconds: int) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def landing(request: Request) -> Response:
        return pages.render(request, "landing.html", who=pages.auth.identity(request))

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None,
                         expired: bool = False, bye: bool = False) -> Response:
        who = pages.auth.identity(request)
        if who is not None:
            return RedirectResponse(safe_next(next) or HOME_BY_ROLE[who.role], status_code=303)
        return pages.render(request, "login.html", next=safe_next(next) or "",
                            notice="登录已过期，请重新登录。" if expired else "您已退出登录。" if bye else None)

    @router.post("/login", response_class=HTMLResponse, dependencies=[pages.auth.checked_form()])
    async def login(request: Request, user_id: Annotated[str, Form(max_length=64)] = "",
                    password: Annotated[str, Form(max_length=256)] = "",
                    next: Annotated[str, Form(max_length=500)] = "") -> Response:
        problems = {field: "请填写" + label for field, label, value in
                    (("user_id", "工号", user_id), ("password", "密码", password)) if not value.strip()}
        status_code = 422
        if not problems:
            try:
                who = await authenticate(directory, throttle, user_id.strip(), password, client_address(request))
            except Refused as refusal:
                problems["form"], status_code = _sign_in_refusal(refusal), refusal.status
            else:
                response = RedirectResponse(safe_next(next) or HOME_BY_ROLE[who.role], status_code=303)
                sign_in(response, request, pages.auth.auth.tokens.issue(who), ttl_seconds)
                return response
        return pages.render(request, "login.html", status_code=status_code, problems=problems,
                            user_id=user_id, next=safe_next(next) or "")

    @router.post("/logout", dependencies=[pages.auth.checked_form()])
    async def logout() -> Response:
        response = RedirectResponse("/login?bye=1", status_code=303)
        sign_out(response)
        return response

    return router


def _sign_in_refusal(refusal: Refused) -> str:
    if refusal.status == 429:
        wait = int(refusal.headers.get("Retry-After", "60"))
        return f"登录失败次数过多，请{max(1, -(-wait // 60))}分钟后再试。"
    return "工号或密码不对，请重新输入。"
