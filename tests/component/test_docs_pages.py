"""The API documentation pages (/docs, /redoc, /asyncapi) name no other host: every script,
stylesheet and icon they load is served by the system itself, so they render offline.
(tests/e2e/test_docs_offline.py renders them in a browser.)"""

import re
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from services.system import build_system
from shared.docs_assets import PACKAGES, install_docs, missing
from shared.settings import Settings

HOST = "appeal.test"
PAGES = ["/docs", "/redoc", "/asyncapi"]
ABSOLUTE = re.compile(r"""https?://[^\s"'<>`)\\]+""")
LOADED = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def other_hosts(html: str) -> list[str]:
    """Every absolute URL in the page, and every protocol-relative one it loads, that is
    not on the system's own host."""
    urls = ABSOLUTE.findall(html) + [url for url in LOADED.findall(html) if url.startswith("//")]
    return [url for url in urls if urlsplit(url if "://" in url else f"http:{url}").hostname != HOST]


@pytest.fixture
async def http(tmp_path):
    system = build_system(Settings(data_dir=tmp_path, kafka_bootstrap="127.0.0.1:9"))
    transport = httpx.ASGITransport(app=system.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
            yield client
    finally:
        for service in system.services:
            await service.db.dispose()


@pytest.mark.parametrize("path", PAGES)
async def test_docs_page_loads_only_from_the_system(http: httpx.AsyncClient, path: str):
    assert not missing(), "the documentation assets are not installed: run `appeal assets` (make does)"
    page = await http.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert other_hosts(page.text) == []

    loaded = [url for url in LOADED.findall(page.text) if not url.startswith("#")]
    assert any(url.endswith(".js") for url in loaded), loaded
    for url in loaded:
        asset = await http.get(url)
        assert asset.status_code == 200 and asset.content, url


async def test_an_asset_outside_the_pinned_files_is_not_served(http: httpx.AsyncClient):
    for path in (f"/assets/docs/{PACKAGES[0].folder}/fetched.json",
                 "/assets/docs/swagger-ui-dist-0.0.1/swagger-ui-bundle.js"):
        assert (await http.get(path)).status_code == 404, path


@pytest.mark.parametrize("path", PAGES)
async def test_without_the_assets_each_page_says_how_to_get_them(tmp_path, path: str):
    app = FastAPI(docs_url=None, redoc_url=None)
    install_docs(app, AsyncAPI(KafkaBroker()).to_specification, directory=tmp_path / "not-fetched")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{HOST}") as client:
        page = await client.get(path)
    assert page.status_code == 503
    assert "appeal assets" in page.text and "npm registry" in page.text
    assert other_hosts(page.text) == []
