"""The four bureau ledgers: what each lists, in which order, filtered to what the caller may see."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import Role
from contracts.events.prevention import HazardStatus
from kernel.auth import Principal
from kernel.errors import DomainError
from services.monitoring import service as hub
from services.monitoring.ledgers.models import LedgerHazard, LedgerServiceRecord
from services.monitoring.models import EnterpriseView, PolicyCoverView

NOT_ENFORCEMENT_BASIS = "不作为执法依据 (not an enforcement basis)"
MARK_NOTE = (
    "说明：标注“不作为执法依据”的隐患处于整改期内，该隐患记录不作为行政执法依据。"
    " Note: a hazard marked 不作为执法依据 is within its rectification period and is not a basis for enforcement."
)
BATCH = 2000  # rows per export batch: one query each, memory stays at one batch
# Sees every industry: used after the caller's own industries were worked out.
_ALL = Principal(
    client_id="ledgers", role=Role.EMERGENCY_ADMIN, tenant="ledgers", scopes=frozenset(), industries=frozenset(), token_id="ledgers"
)


@dataclass
class Filters:
    industries: set[str] | None
    district: str | None = None
    on: date | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass
class Ledger:
    name: str
    title_zh: str
    columns: list[tuple[str, str]]  # (key, Chinese header)
    fetch: Callable[[AsyncSession, Filters, str | None, int], Any]
    preamble: list[str] = field(default_factory=list)


# -- cursor (keyset) ------------------------------------------------------------------------------


def encode_cursor(ledger: str, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([ledger, key]).encode()).decode().rstrip("=")


def decode_cursor(ledger: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        name, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if name == ledger and isinstance(key, str):
            return key
    except (ValueError, TypeError, binascii.Error):
        pass
    raise DomainError("ledger.cursor_invalid", "游标无效", "The cursor is not one this ledger returned", field="cursor", status=400)


async def _keyset(session: AsyncSession, query: Select, column, after: str | None, limit: int, *, core: bool = False) -> list:
    """One keyset batch: rows whose unique sort key is after ``after``, at most ``limit``.

    ``core``: for a select of plain columns, execute on the session's connection and skip the
    ORM's loading machinery (the hazard ledger exports millions of rows).
    """
    if after is not None:
        query = query.where(column > after)
    query = query.order_by(column).limit(limit)
    executor = await session.connection() if core else session
    return list((await executor.execute(query)).all())


# -- the ledgers ----------------------------------------------------------------------------------


def _scope(query: Select, industry_col, district_col, f: Filters) -> Select:
    if f.industries is not None:
        query = query.where(industry_col.in_(f.industries))
    if f.district:
        query = query.where(district_col == f.district)
    return query


async def _insured(session: AsyncSession, f: Filters, after: str | None, limit: int) -> list[tuple[str, dict]]:
    on = f.on or date.today()
    p = PolicyCoverView
    query = (
        select(p, EnterpriseView.name)
        .outerjoin(EnterpriseView, EnterpriseView.credit_code == p.credit_code)
        .where(p.period_start <= on, p.period_end >= on, or_(p.cancelled_from.is_(None), p.cancelled_from > on))
    )
    rows = await _keyset(session, _scope(query, p.industry, p.district, f), p.policy_no, after, limit)
    return [
        (
            c.policy_no,
            {
                "credit_code": c.credit_code,
                "enterprise_name": name,
                "industry": c.industry,
                "district": c.district,
                "policy_no": c.policy_no,
                "insurer": c.insurer,
                "period_start": c.period_start.isoformat(),
                "period_end": c.period_end.isoformat(),
            },
        )
        for c, name in rows
    ]


async def _uninsured(session: AsyncSession, f: Filters, after: str | None, limit: int) -> list[tuple[str, dict]]:
    """应保未保 from the hub's coverage logic (the registry is thousands of rows, kept in memory)."""
    on = f.on or date.today()
    rows: dict[str, dict] = {}
    industries = sorted(f.industries) if f.industries is not None else [None]
    for industry in industries:
        principal = _ALL  # the caller's scope is already in f.industries
        for group in await hub.coverage(session, principal, on=on, industry=industry, district=f.district):
            for unit in group["uninsured"]:
                rows.setdefault(
                    unit["credit_code"],
                    {"credit_code": unit["credit_code"], "enterprise_name": unit["name"], "industry": group["industry"], "district": group["district"]},
                )
    keys = sorted(k for k in rows if after is None or k > after)[:limit]
    return [(k, rows[k]) for k in keys]


_RECTIFYING = HazardStatus.RECTIFYING.value


def _hazard_row(row) -> dict:
    """One ledger row from a result row, unpacked by position (exports read millions of them)."""
    hazard_id, credit_code, insurer, level, description, found_on, deadline, status, self_inspection, basis, name, industry, district = row
    not_basis = (not basis) or status == _RECTIFYING
    return {
        "hazard_id": hazard_id,
        "credit_code": credit_code,
        "enterprise_name": name,
        "industry": industry,
        "district": district,
        "insurer": insurer,
        "level": level,
        "description": description,
        "found_on": found_on.isoformat() if found_on else None,
        "deadline": deadline.isoformat() if deadline else None,
        "status": status,
        "counts_as_self_inspection": self_inspection,
        "enforcement_basis": not not_basis,
        "mark": NOT_ENFORCEMENT_BASIS if not_basis else "",
    }


async def _hazards(session: AsyncSession, f: Filters, after: str | None, limit: int) -> list[tuple[str, dict]]:
    h, e = LedgerHazard, EnterpriseView
    query = select(
        h.hazard_id, h.credit_code, h.insurer, h.level, h.description, h.found_on, h.deadline, h.status, h.counts_as_self_inspection,
        h.enforcement_basis, e.name, e.industry, e.district,
    ).outerjoin(e, e.credit_code == h.credit_code)
    query = _scope(query, e.industry, e.district, f)
    if f.status:
        query = query.where(h.status == f.status)
    if f.date_from:
        query = query.where(h.found_on >= f.date_from)
    if f.date_to:
        query = query.where(h.found_on <= f.date_to)
    return [(row[0], _hazard_row(row)) for row in await _keyset(session, query, h.hazard_id, after, limit, core=True)]


async def _service_records(session: AsyncSession, f: Filters, after: str | None, limit: int) -> list[tuple[str, dict]]:
    r, e = LedgerServiceRecord, EnterpriseView
    query = select(r, e.name, e.industry, e.district).outerjoin(e, e.credit_code == r.credit_code)
    query = _scope(query, e.industry, e.district, f)
    if f.date_from:
        query = query.where(r.performed_on >= f.date_from)
    if f.date_to:
        query = query.where(r.performed_on <= f.date_to)
    return [
        (
            rec.record_id,
            {
                "record_id": rec.record_id,
                "credit_code": rec.credit_code,
                "enterprise_name": name,
                "industry": industry,
                "district": district,
                "policy_no": rec.policy_no,
                "insurer": rec.insurer,
                "institution_code": rec.institution_code,
                "item": rec.item,
                "performed_on": rec.performed_on.isoformat(),
                "staff": rec.staff,
                "cost": str(rec.cost),
                "hazards_found": rec.hazards_found,
            },
        )
        for rec, name, industry, district in await _keyset(session, query, r.record_id, after, limit)
    ]


_ENTERPRISE = [("credit_code", "统一社会信用代码"), ("enterprise_name", "单位名称"), ("industry", "行业"), ("district", "区县")]

LEDGERS: dict[str, Ledger] = {
    "insured": Ledger(
        "insured",
        "已投保企业台账",
        _ENTERPRISE + [("policy_no", "保单号"), ("insurer", "保险机构"), ("period_start", "保险起期"), ("period_end", "保险止期")],
        _insured,
    ),
    "uninsured": Ledger("uninsured", "应保未保企业台账", list(_ENTERPRISE), _uninsured),
    "hazards": Ledger(
        "hazards",
        "事故隐患台账",
        [("hazard_id", "隐患编号")]
        + _ENTERPRISE
        + [
            ("insurer", "保险机构"),
            ("level", "隐患等级"),
            ("description", "隐患描述"),
            ("found_on", "发现日期"),
            ("deadline", "整改期限"),
            ("status", "整改状态"),
            ("counts_as_self_inspection", "视同企业自查"),
            ("mark", "执法依据标注"),
        ],
        _hazards,
        preamble=[MARK_NOTE],
    ),
    "service-records": Ledger(
        "service-records",
        "事故预防服务记录台账",
        [("record_id", "服务记录编号")]
        + _ENTERPRISE
        + [
            ("policy_no", "保单号"),
            ("insurer", "保险机构"),
            ("institution_code", "技术服务机构"),
            ("item", "服务项目"),
            ("performed_on", "服务日期"),
            ("staff", "服务人员"),
            ("cost", "服务费用"),
            ("hazards_found", "发现隐患数"),
        ],
        _service_records,
    ),
}


def ledger_named(name: str) -> Ledger:
    try:
        return LEDGERS[name]
    except KeyError:
        raise DomainError(
            "ledger.unknown", f"没有名为 {name} 的台账", f"There is no ledger named {name}", field="name", status=404
        ) from None


async def page(session: AsyncSession, ledger: Ledger, f: Filters, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    rows = await ledger.fetch(session, f, decode_cursor(ledger.name, cursor), limit + 1)
    next_cursor = encode_cursor(ledger.name, rows[limit - 1][0]) if len(rows) > limit else None
    return [r for _, r in rows[:limit]], next_cursor


async def batches(session: AsyncSession, ledger: Ledger, f: Filters) -> AsyncIterator[list[dict]]:
    """Every row, in keyset batches of ``BATCH``: memory stays at one batch whatever the size."""
    after = None
    while True:
        rows = await ledger.fetch(session, f, after, BATCH)
        # End the read before the batch goes out: a client reading slowly holds no connection, no lock
        # (SQLite) and no snapshot while the rest of the service goes on.
        session.expunge_all()
        await session.commit()
        if not rows:
            return
        yield [r for _, r in rows]
        if len(rows) < BATCH:
            return
        after = rows[-1][0]
