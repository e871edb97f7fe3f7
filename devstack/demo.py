"""Demo data for the embedded default, loaded through the gateway like any insurer system would."""

from __future__ import annotations

import httpx

from contracts.identifiers import credit_code_check_character

DEMO_ENTERPRISES = (
    ("北京城建示范工程有限公司", "CONSTRUCTION", "朝阳区", 320),
    ("京西矿业示范有限公司", "MINE", "门头沟区", 180),
    ("燕山化工示范储运有限公司", "HAZCHEM", "房山区", 140),
    ("首都客运示范有限公司", "TRANSPORT", "丰台区", 560),
    ("北方金属冶炼示范厂", "METAL_SMELTING", "顺义区", 95),
    ("通州商业综合体示范管理有限公司", "COMMERCIAL_COMPLEX", "通州区", 60),
)


def demo_credit_code(n: int) -> str:
    first17 = f"91110000{700000000 + n:09d}"
    return first17 + credit_code_check_character(first17)


def load_demo_data(gateway_url: str, clients: list[dict]) -> int:
    insurer = next(c for c in clients if c["role"] == "insurer")
    with httpx.Client(base_url=gateway_url, timeout=10) as client:
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": insurer["client_id"], "client_secret": insurer["client_secret"]},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        loaded = 0
        for n, (name, industry, district, headcount) in enumerate(DEMO_ENTERPRISES, start=1):
            response = client.post(
                "/api/v1/policy/enterprises",
                headers=headers,
                json={
                    "credit_code": demo_credit_code(n),
                    "name": name,
                    "industry": industry,
                    "district": district,
                    "address": f"北京市{district}示范路{n}号",
                    "headcount": headcount,
                    "standardization_grade": "LEVEL_2",
                },
            )
            if response.status_code in (201, 409):  # 409: kept from an earlier run
                loaded += 1
        return loaded
