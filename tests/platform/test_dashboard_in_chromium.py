"""The emergency management bureau's dashboard, as a person sees it: through the gateway, with demo data, in Chromium.

The platform runs as the embedded default does (broker, five processes, SQLite) with the demo data
loaded through the gateway; the bureau computes and publishes the year's evaluation and runs the
date-driven alerts; then Debian's headless Chromium opens the dashboard page, logs in with the demo
emergency-management client's credentials, and the test reads what is on the screen.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date

import httpx
import pytest

from devstack.broker import free_port, free_ports
from devstack.demo import load_demo_data
from devstack.platform import Layout, Platform, demo_clients
from tests.support.factories import eventually

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian package chromium (/usr/bin/chromium) is not installed (make browser)")
async def test_the_bureau_logs_in_and_sees_coverage_ranking_prevention_and_alerts(tmp_path):
    from playwright.async_api import async_playwright

    layout = Layout(tmp_path / "var", "127.0.0.1", free_ports(5), free_port())
    platform = await asyncio.to_thread(Platform(layout, extra_env={"LOG_LEVEL": "WARNING"}).start)
    try:
        clients = await demo_clients(layout, tmp_path / "credentials.json")
        await asyncio.to_thread(load_demo_data, platform.gateway_url, clients)
        admin = next(c for c in clients if c["role"] == "emergency_admin")
        year = date.today().year
        async with httpx.AsyncClient(base_url=f"{platform.gateway_url}/api/v1/monitoring", timeout=20) as hub:
            token = (await hub.post(f"{platform.gateway_url}/oauth/token", auth=(admin["client_id"], admin["client_secret"]),
                                    data={"grant_type": "client_credentials"})).json()["access_token"]
            hub.headers["Authorization"] = f"Bearer {token}"

            async def demo_arrived():  # the demo's policies, receipts and expense reached the hub through the broker
                rows = (await hub.get("/oversight/insurers", params={"year": year})).json()
                return any(r["insurer"] == "INS-DEMO-A" and r["policies"] == 4 and r["hazards_found"] == 1 for r in rows)

            await eventually(demo_arrived, timeout=40)
            assert (await hub.post(f"/evaluations/{year}")).status_code in (200, 201)
            assert (await hub.post(f"/evaluations/{year}/publish")).status_code in (200, 201)
            assert (await hub.post("/oversight/alerts/evaluate", params={"on": date.today().isoformat()})).status_code in (200, 201)

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{platform.gateway_url}/api/v1/monitoring/public/dashboard")
                assert await page.locator("h1").inner_text() == "安全生产责任保险监管驾驶舱"
                await page.fill("#cid", admin["client_id"])
                await page.fill("#secret", admin["client_secret"])
                await page.fill("#year", str(year))
                await page.click("button[type=submit]")
                await page.wait_for_function("document.getElementById('status').textContent !== '已登录' && "
                                             "document.getElementById('status').textContent !== ''", timeout=30_000)
                assert await page.locator("#status").inner_text() == "已加载"
                # Charts drawn from the data: coverage (with its industries), prevention spend, hazard trend.
                for chart in ("coverage", "prevention", "hazards"):
                    await page.wait_for_selector(f"#{chart} .main-svg")
                assert "CONSTRUCTION" in await page.locator("#coverage").inner_text()
                ranking = await page.locator("#ranking li").all_inner_texts()
                assert ranking and ranking[0].startswith("INS-DEMO-A")
                assert "快赔/预赔启动" in await page.locator("#fasttrack").inner_text()
                alerts = await page.locator("#alerts li").all_inner_texts()
                assert any("北方金属冶炼示范厂" in text or "应保未保" in text or "未投保" in text for text in alerts), alerts
            finally:
                await browser.close()
    finally:
        await asyncio.to_thread(platform.stop)
