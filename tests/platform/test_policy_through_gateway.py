"""The policy lifecycle as insurer systems and a bureau run it: real API clients, through the gateway.

Everything runs as the embedded default does (broker, five processes, SQLite), started by the same
``devstack.platform.Platform`` the launcher uses.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from devstack.broker import free_port, free_ports
from devstack.platform import Layout, Platform, demo_clients
from tests.policy.policy_support import employee, quote_body, roster
from tests.support.factories import enterprise_body, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("platform") / "var", "127.0.0.1", free_ports(5), free_port())
    running = Platform(layout, extra_env={"LOG_LEVEL": "WARNING"}).start()
    yield running
    running.stop()


async def _token(client: httpx.AsyncClient, credentials: dict) -> dict[str, str]:
    issued = await client.post("/oauth/token", auth=(credentials["client_id"], credentials["client_secret"]), data={"grant_type": "client_credentials"})
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


async def test_an_insurer_runs_a_policy_from_enterprise_to_cancellation_and_others_see_only_what_they_may(platform, tmp_path):
    clients = await demo_clients(platform.layout, tmp_path / "credentials.json")
    by_tenant = {c["tenant"]: c for c in clients}
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=20) as gw:
        insurer_a = await _token(gw, by_tenant["INS-DEMO-A"])
        insurer_b = await _token(gw, by_tenant["INS-DEMO-B"])
        housing = await _token(gw, by_tenant["BUREAU-HOUSING"])
        transport = await _token(gw, by_tenant["BUREAU-TRANSPORT"])
        admin = await _token(gw, by_tenant["EMB-CITY"])
        api = "/api/v1/policy"

        body = enterprise_body(4242, industry="CONSTRUCTION")
        code = body["credit_code"]
        assert (await gw.post(f"{api}/enterprises", json=body, headers=insurer_a)).status_code == 201
        assert (await gw.put(f"{api}/enterprises/{code}/roster", json=roster(10), headers=insurer_a)).status_code == 200
        quote = await gw.post(f"{api}/quotes", json=quote_body(code), headers=insurer_a)
        assert quote.status_code == 201, quote.text

        # A retried issue with the same Idempotency-Key gives the same policy, once.
        retry_headers = insurer_a | {"Idempotency-Key": "issue-4242"}
        issued = await gw.post(f"{api}/policies", json={"quote_id": quote.json()["quote_id"]}, headers=retry_headers)
        again = await gw.post(f"{api}/policies", json={"quote_id": quote.json()["quote_id"]}, headers=retry_headers)
        assert issued.status_code == 201 and again.status_code == 201 and again.json() == issued.json()
        policy_no = issued.json()["policy_no"]

        # Insurer B neither sees nor touches insurer A's book.
        assert (await gw.get(f"{api}/policies/{policy_no}", headers=insurer_b)).status_code == 404
        assert policy_no not in {p["policy_no"] for p in (await gw.get(f"{api}/policies", headers=insurer_b)).json()["items"]}
        receipt = {"amount": "100.00", "received_on": "2027-01-05"}
        assert (await gw.post(f"{api}/policies/{policy_no}/premium-receipts", json=receipt, headers=insurer_b)).status_code == 404

        paid = await gw.post(f"{api}/policies/{policy_no}/premium-receipts", json=receipt, headers=insurer_a)
        assert paid.status_code == 201 and Decimal(paid.json()["collected_premium"]) == Decimal("100.00")
        added = await gw.post(
            f"{api}/policies/{policy_no}/endorsements", json={"effective_date": "2027-07-01", "add": [employee(900)]}, headers=insurer_a
        )
        assert added.status_code == 201 and added.json()["headcount"] == 11

        # The housing bureau verifies its construction enterprise; the transport bureau may not.
        verified = await gw.get(f"{api}/verification/{code}", params={"on": "2027-06-30"}, headers=housing)
        assert verified.status_code == 200 and verified.json()["insured"] is True
        assert (await gw.get(f"{api}/verification/{code}", headers=transport)).status_code == 404

        refused = await gw.post(f"{api}/policies/{policy_no}/cancellation", json={"reason": "voluntary_surrender", "effective_date": "2027-09-01"}, headers=insurer_a)
        assert refused.status_code == 422 and refused.json()["errors"][0]["rule"] == "cancellation.reason_not_allowed"
        cancelled = await gw.post(f"{api}/policies/{policy_no}/cancellation", json={"reason": "closed_by_law", "effective_date": "2027-09-01"}, headers=insurer_a)
        assert cancelled.status_code == 201, cancelled.text

        # The enterprise reached the city hub through the broker.
        async def in_city():
            items = (await gw.get("/api/v1/monitoring/enterprises", params={"limit": 1000}, headers=admin)).json()["items"]
            return any(i["credit_code"] == code for i in items)

        await eventually(in_city, timeout=30)
