"""Annual evaluation: transparent scores, ranking, publication, and the public disclosure (published only, no token)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import httpx

from contracts.enums import Role
from contracts.events.envelope import build_cloudevent
from contracts.events.prevention import FundAccrued, FundSpent
from tests.conftest import running_service
from tests.monitoring.conftest import publish
from tests.monitoring.test_oversight import issued
from tests.support.factories import eventually


async def test_evaluation_ranks_publishes_and_discloses_only_what_is_published(sqlite_databases, broker, token_mint):
    tag = uuid.uuid4().hex[:6].upper()
    good, bad = f"A-{tag}", f"B-{tag}"
    year = 2031
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-YJJ")

    def fund(insurer, spent):
        return [
            build_cloudevent(FundAccrued(entry_id=f"{insurer}-A", insurer=insurer, year=year, collected_premium=Decimal("100000"), amount=Decimal("20000")), subject="f", partition_key=insurer),
            build_cloudevent(FundSpent(entry_id=f"{insurer}-S", insurer=insurer, year=year, category="TRAINING", amount=Decimal(spent)), subject="f", partition_key=insurer),
        ]

    events = [
        issued(good, 1, date(year, 1, 1), "86000", "4300"),
        issued(bad, 2, date(year, 1, 1), "86000", "4300.01"),
        *fund(good, "20000"),
        *fund(bad, "10000"),
    ]
    url = await sqlite_databases.create("monitoring")
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(timeout=20) as client,
    ):
        await publish(broker.bootstrap_servers, events)

        async def loaded():
            r = (await client.get(f"{hub.url}/oversight/insurers/{bad}", params={"year": year}, headers=admin)).json()
            return r["prevention_fund"]["prevention_spent"] == "10000.00" and r["total"] is not None

        await eventually(loaded)
        assert (await client.post(f"{hub.url}/evaluations/{year}", headers=token_mint.headers(Role.FINANCE_REGULATOR, "JRJ"))).status_code == 403
        result = (await client.post(f"{hub.url}/evaluations/{year}", headers=admin)).json()
        assert result["ranking"] == [good, bad]
        first = result["scores"][0]
        assert first["total"] == "100.00"
        assert {i["indicator"]: (i["points"], i["weight"]) for i in first["indicators"]} == {
            "commission_compliance": ("100.00", 40), "prevention_spend": ("100.00", 40), "fast_track_on_time": ("100.00", 20)
        }
        second = {i["indicator"]: i for i in result["scores"][1]["indicators"]}
        assert second["commission_compliance"]["points"] == "0.00"
        assert second["prevention_spend"]["points"] == "50.00" and second["prevention_spend"]["value"] == "0.1000"
        assert result["scores"][1]["total"] == "40.00"

        # Nothing unpublished leaks, and the public endpoint needs no token.
        assert all(d["year"] != year for d in (await client.get(f"{hub.url}/public/disclosures")).json())
        assert good not in (await client.get(f"{hub.url}/public/disclosures.html")).text
        published = (await client.post(f"{hub.url}/evaluations/{year}/publish", headers=admin)).json()
        assert published["published_on"]
        shown = [d for d in (await client.get(f"{hub.url}/public/disclosures")).json() if d["year"] == year]
        assert shown[0]["ranking"] == [good, bad]
        page = (await client.get(f"{hub.url}/public/disclosures.html")).text
        assert "综合评价结果公示" in page and good in page
        assert (await client.post(f"{hub.url}/evaluations/{year + 1}/publish", headers=admin)).status_code == 404
