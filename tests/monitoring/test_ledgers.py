"""Bureau ledgers 台账: content at the boundaries, bureau isolation, pagination, CSV/XLSX exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import openpyxl

from contracts.enums import Role
from contracts.events.envelope import build_cloudevent
from contracts.events.prevention import HazardFound, HazardLevel, HazardStatus, HazardStatusChanged, ServiceItem, ServiceRecorded
from kernel.database import create_engine, create_sessionmaker
from services.monitoring import consumers
from kernel import spreadsheets as exports
from services.monitoring.ledgers.handlers import READ_MODELS
from tests.conftest import running_service
from tests.monitoring.test_coverage import cancelled, issued, registered
from tests.monitoring.test_registry import CONSTRUCTION_BUREAU, TRANSPORT_BUREAU, bureau
from tests.support.factories import credit_code

TODAY = date(2026, 6, 30)
HANDLERS = {
    **READ_MODELS,
    "cn.anzexian.policy.enterprise.registered.v1": consumers.on_enterprise_registered,
}


def enterprise(n: int, industry: str, district: str = "朝阳区", name: str | None = None) -> dict:
    envelope = registered(n, must_insure=True)
    envelope["data"].update(industry=industry, district=district, name=name or f"单位{n}")
    return envelope


def hazard(n: int, unit: int, found: date = date(2026, 6, 1), description: str = "脚手架未设防护栏") -> dict:
    payload = HazardFound(
        hazard_id=f"H{n:06d}",
        credit_code=credit_code(unit),
        insurer="PICC-BJ",
        level=HazardLevel.GENERAL,
        description=description,
        found_on=found,
        deadline=date(2026, 7, 31),
    )
    return build_cloudevent(payload, subject=f"hazards/{payload.hazard_id}", partition_key=payload.credit_code)


def status(n: int, unit: int, new: HazardStatus, minute: int, basis: bool, self_inspection: bool = False) -> dict:
    payload = HazardStatusChanged(
        hazard_id=f"H{n:06d}",
        credit_code=credit_code(unit),
        status=new,
        changed_at=datetime(2026, 6, 2, 8, minute, tzinfo=UTC),
        insurer="PICC-BJ",
        counts_as_self_inspection=self_inspection,
        enforcement_basis=basis,
    )
    return build_cloudevent(payload, subject=f"hazards/{payload.hazard_id}", partition_key=payload.credit_code)


def service_record(n: int, unit: int) -> dict:
    payload = ServiceRecorded(
        record_id=f"R{n:06d}",
        credit_code=credit_code(unit),
        policy_no=f"P{unit:06d}",
        insurer="PICC-BJ",
        institution_code=credit_code(900),
        item=ServiceItem.HAZARD_INSPECTION,
        performed_on=date(2026, 6, 1),
        staff=["张三", "李四"],
        cost=Decimal("1200.00"),
        hazards_found=1,
    )
    return build_cloudevent(payload, subject=f"records/{payload.record_id}", partition_key=payload.credit_code)


async def feed(url: str, envelopes: list[dict]) -> None:
    """Apply events through the read-model handlers, as the consumer would (each in its own transaction)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            for envelope in envelopes:
                handler = HANDLERS.get(envelope["type"]) or consumers.READ_MODEL_HANDLERS[envelope["type"]]
                await handler(session, envelope)
                await session.commit()
    finally:
        await engine.dispose()


def regulator(mint):
    return mint.headers(Role.EMERGENCY_ADMIN, "BJ-YJJ")


def test_cells_that_look_like_formulas_are_neutralised():
    for text in ("=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert exports.cell(text) == "'" + text
    assert exports.cell("建工1") == "建工1" and exports.cell(None) == "" and exports.cell(True) == "是"


async def test_ledgers_content_isolation_pagination_and_exports(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    events = [
        enterprise(1, "CONSTRUCTION"),
        enterprise(2, "CONSTRUCTION"),
        enterprise(3, "CONSTRUCTION", name="=HYPERLINK(\"http://x\")"),
        enterprise(4, "TRANSPORT", district="通州区"),
        issued(1, date(2026, 1, 1), date(2026, 6, 30)),  # ends today: insured today
        issued(2, date(2025, 6, 30), date(2026, 6, 29)),  # ended yesterday: uninsured
        issued(3, date(2026, 1, 1), date(2026, 12, 31)),
        cancelled(3, TODAY),  # cancellation takes effect today: uninsured today, insured yesterday
        issued(4, date(2026, 1, 1), date(2026, 12, 31), industry="TRANSPORT", district="通州区"),
        hazard(1, 1),
        hazard(2, 1),
        status(1, 1, HazardStatus.RECTIFYING, 1, basis=False),
        status(2, 1, HazardStatus.RECTIFIED, 2, basis=True, self_inspection=True),
        status(2, 1, HazardStatus.RECTIFYING, 1, basis=False),  # older, arrives late: ignored
        hazard(3, 4),
        status(4, 3, HazardStatus.OPEN, 1, basis=True),  # before its HazardFound
        hazard(4, 3, description="-cmd|' /C calc'!A0"),
        service_record(1, 1),
        service_record(2, 4),
    ]
    await feed(url, events)
    await feed(url, events[-3:])  # replays change nothing
    builder, carrier, admin = bureau(token_mint, CONSTRUCTION_BUREAU), bureau(token_mint, TRANSPORT_BUREAU), regulator(token_mint)
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(base_url=hub.url, timeout=20) as client,
    ):
        on = {"on": TODAY.isoformat()}
        insured = (await client.get("/ledgers/insured", params=on, headers=builder)).json()
        assert [r["credit_code"] for r in insured["items"]] == [credit_code(1)]
        yesterday = (await client.get("/ledgers/insured", params={"on": "2026-06-29"}, headers=builder)).json()
        assert sorted(r["credit_code"] for r in yesterday["items"]) == sorted(credit_code(n) for n in (1, 2, 3))
        uninsured = (await client.get("/ledgers/uninsured", params=on, headers=builder)).json()
        assert [r["credit_code"] for r in uninsured["items"]] == sorted(credit_code(n) for n in (2, 3))

        hazards = {r["hazard_id"]: r for r in (await client.get("/ledgers/hazards", headers=builder)).json()["items"]}
        assert set(hazards) == {"H000001", "H000002", "H000004"}, "the transport unit's hazard is not the builder bureau's"
        assert hazards["H000001"]["status"] == "RECTIFYING" and hazards["H000001"]["mark"].startswith("不作为执法依据")
        assert not hazards["H000001"]["enforcement_basis"]
        assert hazards["H000002"]["status"] == "RECTIFIED" and hazards["H000002"]["mark"] == ""
        assert hazards["H000002"]["counts_as_self_inspection"] and hazards["H000002"]["enforcement_basis"]
        assert hazards["H000004"]["level"] == "GENERAL" and hazards["H000004"]["status"] == "OPEN"
        rectifying = (await client.get("/ledgers/hazards", params={"status": "RECTIFYING"}, headers=builder)).json()["items"]
        assert [r["hazard_id"] for r in rectifying] == ["H000001"]

        # Bureau isolation: another industry refused, naming the field; unfiltered listing holds only its own.
        refused = await client.get("/ledgers/hazards", params={"industry": "CONSTRUCTION"}, headers=carrier)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
        assert "industry" in refused.text and "行业" in refused.text
        refused_csv = await client.get("/ledgers/insured.csv", params={"industry": "CONSTRUCTION"}, headers=carrier)
        assert refused_csv.status_code == 403
        own = (await client.get("/ledgers/hazards", headers=carrier)).json()["items"]
        assert [r["hazard_id"] for r in own] == ["H000003"]
        records = (await client.get("/ledgers/service-records", headers=carrier)).json()["items"]
        assert [r["record_id"] for r in records] == ["R000002"] and records[0]["staff"] == "张三、李四"
        everything = (await client.get("/ledgers/hazards", headers=admin)).json()["items"]
        assert len(everything) == 4

        # Pagination walks every row exactly once.
        seen, cursor = [], None
        while True:
            params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            body = (await client.get("/ledgers/hazards", params=params, headers=admin)).json()
            seen += [r["hazard_id"] for r in body["items"]]
            if not (cursor := body["next_cursor"]):
                break
        assert seen == ["H000001", "H000002", "H000003", "H000004"]

        # Bad input: problem+json naming the field, zh and en.
        for path, params, field in (
            ("/ledgers/hazards", {"cursor": "nonsense"}, "cursor"),
            ("/ledgers/hazards", {"limit": 0}, "limit"),
            ("/ledgers/hazards", {"limit": 1001}, "limit"),
            ("/ledgers/nothing", {}, "name"),
            ("/ledgers/hazards.pdf", {}, "name"),
            ("/ledgers/insured", {"on": "2026-02-30"}, "on"),
        ):
            response = await client.get(path, params=params, headers=admin)
            assert 400 <= response.status_code < 500, (path, params, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert field in response.text, (path, response.text)
        other_ledger = (await client.get("/ledgers/service-records", params={"limit": 1}, headers=admin)).json()["next_cursor"]
        assert (await client.get("/ledgers/hazards", params={"cursor": other_ledger}, headers=admin)).status_code == 400

        # CSV: BOM, the mark's meaning first, Chinese headers, formulas neutralised.
        response = await client.get("/ledgers/hazards.csv", headers=builder)
        assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
        assert "filename*=UTF-8''" in response.headers["content-disposition"]
        assert response.content.startswith("\ufeff".encode())
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert "不作为执法依据" in lines[0][0] and "not a basis for enforcement" in lines[0][0]
        assert lines[1][:3] == ["隐患编号", "统一社会信用代码", "单位名称"]
        by_id = {line[0]: line for line in lines[2:]}
        assert set(by_id) == {"H000001", "H000002", "H000004"}
        assert by_id["H000004"][2] == "'=HYPERLINK(\"http://x\")" and by_id["H000004"][7] == "'-cmd|' /C calc'!A0"
        assert by_id["H000001"][-1].startswith("不作为执法依据") and by_id["H000002"][-1] == ""

        # XLSX read back.
        response = await client.get("/ledgers/hazards.xlsx", headers=builder)
        assert response.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert "不作为执法依据" in rows[0][0] and rows[1][0] == "隐患编号"
        assert {r[0] for r in rows[2:]} == {"H000001", "H000002", "H000004"}
        assert next(r for r in rows if r[0] == "H000004")[2] == "'=HYPERLINK(\"http://x\")"
        insured_xlsx = await client.get("/ledgers/insured.xlsx", params=on, headers=builder)
        rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(insured_xlsx.content)).worksheets[0].iter_rows(values_only=True)]
        assert rows[0][:2] == ["统一社会信用代码", "单位名称"] and [r[0] for r in rows[1:]] == [credit_code(1)]
