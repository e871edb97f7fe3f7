"""The bureau's dashboard page: served publicly with plotly.js from the installed package (no CDN).

What a person sees in Chromium, logged in, with demo data: tests/platform/test_dashboard_in_chromium.py.
"""

from __future__ import annotations

import httpx

from tests.conftest import running_service


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
