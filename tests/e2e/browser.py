"""Headless Chromium for the page tests: Debian's browser (``/usr/bin/chromium``) driven by
Playwright, which never downloads one of its own; every request the pages make recorded;
screenshots at phone and desktop width.

The fixtures in ``tests/e2e/conftest.py`` put it together::

    def test_board(dev_server, page, traffic):
        page.goto(f"{dev_server.url}/member")
        expect(page.get_by_role("button", name="接单").first).to_be_visible()
        traffic.assert_only(dev_server.url)       # nothing loaded from another host
        save_screenshots(page, "member-board")    # member-board-390.png, member-board-1280.png

Requests to anywhere but this machine (127.0.0.0/8, localhost, ::1) never leave the
browser: they are aborted as a network without internet would refuse them, and recorded,
so the page shows what it would show offline and the ``page`` fixture fails the test
afterwards, naming them. ``traffic.assert_only(origin)`` is stricter: every request to
the system's own scheme, host and port.
"""

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, Response, Route

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS_ENV = "APPEAL_SCREENSHOTS_DIR"
DEFAULT_SCREENSHOTS = Path(__file__).resolve().parents[2] / ".appeal" / "screenshots"
IN_PAGE_SCHEMES = {"data", "blob", "about", "javascript"}
"""URLs a page resolves itself: no request goes anywhere."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def require_chromium() -> None:
    """Skip without Debian's Chromium on a developer's machine; in CI its absence is a failure."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: `apt-get install chromium` (Debian's package; .ci/run installs it)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)


def origin_of(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def is_this_machine(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Traffic:
    """What one browser context asked for, in order."""

    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    """Requests for another machine, aborted before they left the browser."""
    failed: list[str] = field(default_factory=list)
    """Responses of 400 and up, and requests that got no response, as ``STATUS URL``."""

    def record(self, context: BrowserContext) -> None:
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("requestfailed", lambda request: self._failed("failed", request))
        context.on("response", self._answered)
        context.route("**/*", self._guard)

    def _guard(self, route: Route) -> None:
        if is_this_machine(route.request.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def _answered(self, response: Response) -> None:
        if response.status >= 400:
            self._failed(str(response.status), response.request)

    def _failed(self, what: str, request: Request) -> None:
        if request.url not in self.blocked:
            self.failed.append(f"{what} {request.url}")

    def foreign(self, origin: str) -> list[str]:
        """Every request that went (or tried to go) anywhere but ``origin``."""
        own = origin_of(origin)
        return [url for url in self.requests
                if urlsplit(url).scheme not in IN_PAGE_SCHEMES and origin_of(url) != own]

    def assert_only(self, origin: str) -> None:
        """Fail, listing them, if any request was for another scheme, host or port than ``origin``."""
        if foreign := self.foreign(origin):
            raise AssertionError(f"{len(foreign)} request(s) went somewhere other than {origin}:\n"
                                 + "\n".join(f"  {url}" for url in dict.fromkeys(foreign)))

    def assert_stayed_on_this_machine(self) -> None:
        if self.blocked:
            raise AssertionError(f"the page asked for {len(self.blocked)} URL(s) on other hosts, which a network "
                                 "without internet would refuse:\n"
                                 + "\n".join(f"  {url}" for url in dict.fromkeys(self.blocked)))


def open_context(browser: Browser, traffic: Traffic) -> BrowserContext:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    traffic.record(context)
    return context


def screenshot_dir() -> Path:
    """``$APPEAL_SCREENSHOTS_DIR``, else ``.appeal/screenshots`` in the checkout."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or DEFAULT_SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshots(page: Page, name: str, *, folder: Path | None = None, full_page: bool = True) -> list[Path]:
    """The page at phone (390 px) and desktop (1280 px) width, as ``NAME-390.png`` and
    ``NAME-1280.png`` in ``folder`` (default: ``screenshot_dir()``): all of it, or with
    ``full_page=False`` the first screenful. The page's own viewport is put back afterwards."""
    folder = folder or screenshot_dir()
    before = page.viewport_size
    saved = []
    try:
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            path = folder / f"{name}-{size['width']}.png"
            page.screenshot(path=path, full_page=full_page)
            saved.append(path)
    finally:
        if before is not None:
            page.set_viewport_size(before)
    return saved

