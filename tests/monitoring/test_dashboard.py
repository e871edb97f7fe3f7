"""The bureau's dashboard page: served publicly with plotly.js from the installed package, and rendered in Chromium."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.conftest import running_service

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


async def test_dashboard_page_and_its_chart_library_need_no_token(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(timeout=20) as client,
    ):
        page = await client.get(f"{hub.url}/public/dashboard")
        assert page.status_code == 200 and "安全生产责任保险监管驾驶舱" in page.text
        assert "cdn" not in page.text.lower()
        js = await client.get(f"{hub.url}/public/dashboard/plotly.min.js")
        assert js.status_code == 200 and "plotly" in js.text[:2000].lower()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian package chromium (/usr/bin/chromium) is not installed")
async def test_dashboard_renders_in_headless_chromium(sqlite_databases, broker, token_mint):
    from playwright.async_api import async_playwright

    url = await sqlite_databases.create("monitoring")
    async with running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{hub.url}/public/dashboard")
                assert await page.locator("h1").inner_text() == "安全生产责任保险监管驾驶舱"
                assert "保险机构综合评价排名" in await page.locator("h2").all_inner_texts()
                assert await page.evaluate("typeof Plotly") == "object"
                await page.evaluate("Plotly.newPlot('coverage', [{type: 'bar', x: ['建筑'], y: [1]}])")
                await page.wait_for_selector("#coverage .main-svg")
            finally:
                await browser.close()
