"""Fixtures for driving the system as a user: ``appeal dev`` as a real process, and the
pages in Debian's headless Chromium (see ``tests/e2e/browser.py``)."""

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shared.embedded import free_port
from tests.e2e.browser import Traffic, launch, open_context, require_chromium
from tests.e2e.test_cli import APPEAL, _clean_env, _wait_for_line, stop_with_ctrl_c


@dataclass
class DevServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory) -> Iterator[DevServer]:
    """``appeal dev`` on a free port with its own data dir and the sample district, once
    per test module, ready (every service consuming) before the first test."""
    data_dir = tmp_path_factory.mktemp("appeal-dev")
    port = free_port()
    process = subprocess.Popen([*APPEAL, "dev", "--port", str(port), "--data-dir", str(data_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_clean_env())
    seen: list[str] = []
    try:
        url = _wait_for_line(process, r"HTTP\s+(http://\S+)", 30, seen).group(1)
        _wait_for_line(process, r"ready\s+http", 60, seen)
        yield DevServer(url, data_dir, process)
    finally:
        stop_with_ctrl_c(process)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for one test (starting it takes under a second).

    Not shared between tests: while Playwright's sync API is running, its event loop
    counts as running on the main thread, and pytest-asyncio could not run the next
    test's async fixtures."""
    require_chromium()
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def traffic() -> Traffic:
    """Every request ``page`` makes; ``traffic.assert_only(dev_server.url)`` fails naming
    any that went to another host."""
    return Traffic()


@pytest.fixture
def page(browser: Browser, traffic: Traffic) -> Iterator[Page]:
    """A page in a fresh browser context (1280 × 800, zh-CN). Requests for other hosts are
    aborted, as offline, and fail the test when it ends."""
    context = open_context(browser, traffic)
    yield context.new_page()
    context.close()
    traffic.assert_stayed_on_this_machine()
