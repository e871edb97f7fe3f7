"""Mandatory-enterprise registry (应保企业名录): bureaus upload lists; good rows kept, each bad row reported."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from openpyxl import Workbook

from contracts.enums import Role
from tests.conftest import running_service
from tests.support.factories import credit_code

CONSTRUCTION_BUREAU = {"tenant": "BJ-ZJW", "industries": ("CONSTRUCTION",)}  # 住建委
TRANSPORT_BUREAU = {"tenant": "BJ-JTW", "industries": ("TRANSPORT",)}  # 交通委


def bureau(mint, who=CONSTRUCTION_BUREAU):
    return mint.headers(Role.BUREAU, who["tenant"], industries=who["industries"])


def wrong_check_digit(n: int) -> str:
    code = credit_code(n)
    return code[:17] + ("0" if code[17] != "0" else "1")


def csv_bytes(rows: list[list[str]], header=("credit_code", "name", "industry", "district")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[list[str]], header=("统一社会信用代码", "单位名称", "行业领域", "属地区县")) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def upload(client, url, headers, name: str, content: bytes):
    return await client.post(f"{url}/registry/uploads", files={"file": (name, content)}, headers=headers)


async def registry(client, url, headers, **params) -> dict[str, dict]:
    found, cursor = {}, None
    while True:
        page = await client.get(
            f"{url}/registry/enterprises", params=params | {"limit": 1000} | ({"cursor": cursor} if cursor else {}), headers=headers
        )
        assert page.status_code == 200, page.text
        found.update({(i["credit_code"], i["bureau"]): i for i in page.json()["items"]})
        cursor = page.json()["next_cursor"]
        if not cursor:
            return found


@pytest.fixture
async def hub(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    async with running_service(
        "monitoring",
        url,
        broker.bootstrap_servers,
        token_mint,
        run_consumers=False,
        run_push_delivery=False,
        registry_upload_max_bytes=200_000,
    ) as running:
        yield running


async def test_a_csv_keeps_good_rows_and_reports_each_bad_row(hub, token_mint):
    headers = bureau(token_mint)
    rows = [[credit_code(n), f"建工集团{n}", "CONSTRUCTION", "朝阳区"] for n in range(1, 2001)]
    rows[4] = [wrong_check_digit(5), "校验位错误公司", "CONSTRUCTION", "朝阳区"]  # row 6 of the file
    rows[9] = [credit_code(10), "运输公司", "TRANSPORT", "海淀区"]  # row 11: another bureau's industry
    rows[14] = [credit_code(15), "", "CONSTRUCTION", ""]  # row 16: two required fields empty
    async with httpx.AsyncClient(timeout=30) as client:
        response = await upload(client, hub.url, headers, "名录.csv", csv_bytes(rows))
        assert response.status_code == 200, response.text
        summary = response.json()
        assert (summary["accepted"], summary["rejected"]) == (1997, 3)
        found = {(e["row"], e["field"], e["rule"]) for e in summary["errors"]}
        assert found == {
            (6, "credit_code", "identifier.credit_code_invalid"),
            (11, "industry", "tenant.industry_not_supervised"),
            (16, "name", "registry.field_required"),
            (16, "district", "registry.field_required"),
        }
        assert all(e["message_zh"] and e["message_en"] for e in summary["errors"])

        kept = await registry(client, hub.url, headers)
        assert len(kept) == 1997 and (credit_code(10), "BJ-ZJW") not in kept

        # A second upload updates in place: one row per credit code and bureau.
        again = await upload(
            client, hub.url, headers, "名录.csv", csv_bytes([[credit_code(1), "建工集团一号（更名）", "CONSTRUCTION", "丰台区"]])
        )
        assert again.json() == {"accepted": 1, "rejected": 0, "errors": []}
        kept = await registry(client, hub.url, headers)
        assert len(kept) == 1997 and kept[(credit_code(1), "BJ-ZJW")]["district"] == "丰台区"


async def test_an_xlsx_with_chinese_headers_and_a_json_list_are_read(hub, token_mint):
    headers = bureau(token_mint, TRANSPORT_BUREAU)
    async with httpx.AsyncClient(timeout=30) as client:
        sheet = xlsx_bytes(
            [[credit_code(n), f"运输公司{n}", "TRANSPORT", "通州区"] for n in range(1, 51)]
            + [[wrong_check_digit(99), "坏", "TRANSPORT", "通州区"]]
        )
        response = await upload(client, hub.url, headers, "list.xlsx", sheet)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 50 and response.json()["errors"][0]["row"] == 52
        document = json.dumps(
            {"enterprises": [{"credit_code": credit_code(60), "name": "危化运输", "industry": "TRANSPORT", "district": "顺义区"}]}
        )
        response = await upload(client, hub.url, headers, "list.json", document.encode())
        assert response.json() == {"accepted": 1, "rejected": 0, "errors": []}
        assert len(await registry(client, hub.url, headers)) == 51


async def test_a_bureau_listing_an_industry_it_does_not_supervise_has_those_rows_rejected(hub, token_mint):
    headers = bureau(token_mint, TRANSPORT_BUREAU)
    async with httpx.AsyncClient(timeout=30) as client:
        rows = [[credit_code(n), f"矿业{n}", "MINE", "门头沟区"] for n in range(1, 4)]
        summary = (await upload(client, hub.url, headers, "mines.csv", csv_bytes(rows))).json()
        assert summary["accepted"] == 0 and summary["rejected"] == 3
        assert {e["rule"] for e in summary["errors"]} == {"tenant.industry_not_supervised"}
        # Nor may it read another industry's registry.
        refused = await client.get(f"{hub.url}/registry/enterprises", params={"industry": "MINE"}, headers=headers)
        assert refused.status_code == 403


async def test_an_oversized_upload_is_refused_with_413(hub, token_mint):
    rows = [[credit_code(n), "名" * 150, "CONSTRUCTION", "朝阳区"] for n in range(1, 1000)]
    async with httpx.AsyncClient(timeout=30) as client:
        response = await upload(client, hub.url, bureau(token_mint), "big.csv", csv_bytes(rows))
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["rule"] == "registry.upload_too_large"
        # Just above the limit, where the declared length still passes and the endpoint measures the file.
        just_over = b"credit_code\n" + b"x" * 200_000
        response = await upload(client, hub.url, bureau(token_mint), "edge.csv", just_over)
        assert response.status_code == 413 and response.json()["errors"][0]["field"] == "file"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.xlsx", b"PK\x03\x04 this is not really a workbook"),
        ("broken.json", b"{not json"),
        ("noheader.csv", "名称,地址\n甲,乙\n".encode()),
        ("list.txt", b"credit_code\n"),
    ],
)
async def test_a_malformed_file_is_refused_with_422_and_nothing_kept(name, content, hub, token_mint):
    headers = bureau(token_mint)
    async with httpx.AsyncClient(timeout=30) as client:
        response = await upload(client, hub.url, headers, name, content)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == "file"
        assert await registry(client, hub.url, headers) == {}


@pytest.mark.parametrize(("role", "status"), [(Role.INSURER, 403), (Role.MUNICIPAL_PLATFORM, 403), (Role.EMERGENCY_ADMIN, 403)])
async def test_only_bureaus_upload(role, status, hub, token_mint):
    async with httpx.AsyncClient(timeout=30) as client:
        response = await upload(client, hub.url, token_mint.headers(role, "X"), "a.csv", csv_bytes([]))
        assert response.status_code == status
