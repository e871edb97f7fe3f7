"""Demo data for the embedded default, loaded through the gateway like insurer systems would.

Six enterprises; for the first four, a roster, a quote, a policy in force this year and its premium
received; a technical service institution registered by the demo service institution and filed by
demo insurer A; a hazard inspection at the first enterprise with the hazard it found, under
rectification; and a prevention expense against that record. Loading is idempotent enough to
run again on the same ``var/`` (existing enterprises answer 409 and are kept).
"""

from __future__ import annotations

import time
from datetime import date

import httpx

from contracts.identifiers import credit_code_check_character, resident_id_check_character

DEMO_ENTERPRISES = (
    ("北京城建示范工程有限公司", "CONSTRUCTION", "朝阳区", 320),
    ("京西矿业示范有限公司", "MINE", "门头沟区", 180),
    ("燕山化工示范储运有限公司", "HAZCHEM", "房山区", 140),
    ("首都客运示范有限公司", "TRANSPORT", "丰台区", 560),
    ("北方金属冶炼示范厂", "METAL_SMELTING", "顺义区", 95),
    ("通州商业综合体示范管理有限公司", "COMMERCIAL_COMPLEX", "通州区", 60),
)
INSURED = 4  # the first four get a policy


def demo_credit_code(n: int) -> str:
    first17 = f"91110000{700000000 + n:09d}"
    return first17 + credit_code_check_character(first17)


def demo_institution_code() -> str:
    first17 = "91110105800000001"
    return first17 + credit_code_check_character(first17)


def _resident_id(n: int) -> str:
    first17 = f"11010519880101{n:03d}"
    return first17 + resident_id_check_character(first17)


def _token(client: httpx.Client, credentials: dict) -> dict[str, str]:
    issued = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": credentials["client_id"], "client_secret": credentials["client_secret"]},
    )
    issued.raise_for_status()
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


def _until(attempt, seconds: float = 20.0) -> httpx.Response:
    """Retry a call that depends on an event still on its way (a policy copy in another service)."""
    deadline = time.monotonic() + seconds
    while True:
        response = attempt()
        if response.status_code < 400 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def load_demo_data(gateway_url: str, clients: list[dict]) -> int:
    """Load the demo through the gateway; returns the number of enterprises in place."""
    insurer_client = next(c for c in clients if c["role"] == "insurer")
    org_client = next((c for c in clients if c["role"] == "service_org"), None)
    year = date.today().year
    with httpx.Client(base_url=gateway_url, timeout=20) as client:
        insurer = _token(client, insurer_client)
        loaded = 0
        policies: list[tuple[str, str]] = []
        for n, (name, industry, district, headcount) in enumerate(DEMO_ENTERPRISES, start=1):
            code = demo_credit_code(n)
            response = client.post(
                "/api/v1/policy/enterprises",
                headers=insurer,
                json={"credit_code": code, "name": name, "industry": industry, "district": district,
                      "address": f"北京市{district}示范路{n}号", "headcount": headcount, "standardization_grade": "LEVEL_2"},
            )
            if response.status_code == 409:  # kept from an earlier run: the rest is there too
                loaded += 1
                continue
            if response.status_code != 201:
                continue
            loaded += 1
            if n > INSURED:
                continue
            members = [{"resident_id": _resident_id(i), "name": f"职工{i}", "employment_type": "REGULAR", "insured_amount": "800000"}
                       for i in range(5)]
            client.put(f"/api/v1/policy/enterprises/{code}/roster", headers=insurer, json={"members": members}).raise_for_status()
            quote = client.post("/api/v1/policy/quotes", headers=insurer, json={
                "credit_code": code, "period_start": f"{year}-01-01", "period_end": f"{year}-12-31", "per_person_limit": "800000", "commission": "0",
            })
            if quote.status_code != 201:
                continue
            issued = client.post("/api/v1/policy/policies", headers=insurer, json={"quote_id": quote.json()["quote_id"]})
            if issued.status_code != 201:
                continue
            policy = issued.json()
            client.post(f"/api/v1/policy/policies/{policy['policy_no']}/premium-receipts", headers=insurer,
                        json={"amount": str(policy["written_premium"]), "received_on": f"{year}-01-15"})
            policies.append((code, policy["policy_no"]))
        if org_client is not None and policies:
            _prevention_demo(client, insurer, _token(client, org_client), policies[0], year)
        return loaded


def _prevention_demo(client: httpx.Client, insurer: dict, org: dict, first: tuple[str, str], year: int) -> None:
    api = "/api/v1/prevention"
    institution = demo_institution_code()
    client.post(f"{api}/institutions", headers=org, json={
        "institution_code": institution, "name": "北京安评示范技术服务有限公司", "qualifications": ["安全评价", "隐患排查治理"], "professional_staff": 18,
    })
    client.post(f"{api}/institutions/{institution}/filings", headers=insurer, json={"filed_on": f"{year}-01-10"})
    code, policy_no = first
    record = _until(lambda: client.post(f"{api}/service-records", headers=insurer, json={
        "credit_code": code, "policy_no": policy_no, "institution_code": institution, "item": "HAZARD_INSPECTION",
        "performed_on": f"{year}-03-18", "place": "北京市朝阳区示范路1号 施工现场", "staff": ["张安全", "李检查"], "cost": "2800.00",
        "findings": "脚手架连墙件缺失；临时用电未三级配电", "confirmed_by_unit": True,
    }))
    if record.status_code != 201:
        return
    record_id = record.json()["record_id"]
    hazard = client.post(f"{api}/hazards", headers=insurer, json={
        "credit_code": code, "record_id": record_id, "level": "GENERAL", "description": "脚手架连墙件缺失",
        "found_on": f"{year}-03-18", "deadline": f"{year}-12-31",
    })
    if hazard.status_code == 201:
        client.post(f"{api}/hazards/{hazard.json()['hazard_id']}/status", headers=insurer, json={"status": "RECTIFYING"})
    _until(lambda: client.post(f"{api}/fund/expenses", headers=insurer, json={
        "year": year, "category": "HAZARD_INSPECTION", "amount": "2800.00", "record_id": record_id, "description": "隐患排查服务费",
    }))
