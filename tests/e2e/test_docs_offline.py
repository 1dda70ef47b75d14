"""The API documentation pages render in a browser with nothing from outside the system:
``appeal dev`` serves Swagger UI, Redoc and the AsyncAPI viewer's scripts itself, and the
browser is refused every other host, as on a network without internet."""

import pytest
from playwright.sync_api import ConsoleMessage, Locator, Page, expect

from tests.e2e.browser import Traffic, save_screenshots

pytestmark = pytest.mark.e2e
RENDERED_WITHIN_MS = 30_000


def swagger_operation(page: Page) -> Locator:
    return page.locator("#swagger-ui .opblock-summary-path", has_text="/api/cases").first


def redoc_operation(page: Page) -> Locator:
    return page.locator("redoc button", has_text="/api/cases").first


def asyncapi_channel(page: Page) -> Locator:
    return page.locator("#asyncapi").get_by_text("appeal.inbound.hotline", exact=True).first


@pytest.mark.parametrize(("path", "rendered"), [pytest.param("/docs", swagger_operation, id="swagger-ui"),
                                                pytest.param("/redoc", redoc_operation, id="redoc"),
                                                pytest.param("/asyncapi", asyncapi_channel, id="asyncapi")])
def test_docs_page_renders_from_the_system_alone(dev_server, page: Page, traffic: Traffic, path, rendered, request):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: _console_error(message, errors))

    page.goto(dev_server.url + path)

    expect(rendered(page)).to_be_visible(timeout=RENDERED_WITHIN_MS)
    save_screenshots(page, f"docs-{request.node.callspec.id}", full_page=False)
    traffic.assert_only(dev_server.url)
    assert not traffic.failed, traffic.failed
    assert not errors, errors


def _console_error(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":
        errors.append(message.text)
