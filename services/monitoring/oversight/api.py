"""Routes of the oversight part (regulators only: emergency_admin, finance_regulator)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

import html
import json

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from contracts.enums import Role
from contracts.profiles import ProfileNotFound
from kernel.auth import Principal, authorize
from kernel.database import SessionDep
from kernel.errors import DomainError, PROBLEM_RESPONSES, NotFound
from services.monitoring.oversight import dashboard, evaluation, rules
from contracts.events.monitoring import AlertKind, EvaluationPublished
from services.monitoring import service as hub
from services.monitoring.oversight.handlers import SHANGHAI, facts, fund_totals, outbox, raise_alert
from services.monitoring.oversight.models import OversightAlert, OversightEvaluation, OversightFundEntry, OversightPolicy

Regulator = Annotated[Principal, Depends(authorize(Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, scopes=("monitoring:read",)))]

FundYear = Annotated[int, Query(ge=2000, le=2100, description="Fund year 年度")]
EvaluationYear = Annotated[int, Path(ge=2000, le=2100, description="Evaluation year 考评年度")]


def year_limits(year: int, *, field: str = "year") -> rules.Limits:
    """The hub's limits for ``year``; a year no jurisdiction profile covers is the caller's 422, not our 500."""
    try:
        return rules.year_limits(year)
    except ProfileNotFound:
        raise DomainError(
            "oversight.no_profile_in_force", f"{year}年没有生效的规则配置（现行办法自2025年3月29日起施行）",
            f"No jurisdiction profile is in force for {year} (the Measures 2025 apply from 2025-03-29)", field=field,
        ) from None


router = APIRouter(prefix="/oversight", tags=["insurer oversight"], responses=PROBLEM_RESPONSES)


FACT_FIELDS = {
    "COLLECTED_PREMIUM": "collected_premium", "CLAIM_REPORTED": "claims_reported", "CLAIM_PAID": "claims_paid",
    "FAST_TRACK_OPENED": "fast_track_opened", "FAST_TRACK_MISSED": "fast_track_missed", "HAZARD_FOUND": "hazards_found",
    "HAZARD_RECTIFIED": "hazards_rectified", "INSTITUTION_EVALUATED": "institution_evaluations",
}
COUNTS = {"CLAIM_REPORTED", "FAST_TRACK_OPENED", "FAST_TRACK_MISSED", "HAZARD_FOUND", "HAZARD_RECTIFIED", "INSTITUTION_EVALUATED"}


async def _kpis(session, year: int, quarter: int | None, insurer: str | None = None) -> list[dict]:
    """Per insurer: written premium and commission (policies starting in the period) and the facts of the period."""
    q = select(
        OversightPolicy.insurer, func.count(), func.sum(OversightPolicy.premium), func.sum(OversightPolicy.commission)
    ).where(OversightPolicy.year == year).group_by(OversightPolicy.insurer).order_by(OversightPolicy.insurer)
    if quarter:
        q = q.where(OversightPolicy.quarter == quarter)
    if insurer:
        q = q.where(OversightPolicy.insurer == insurer)
    written = {name: (policies, premium, commission) for name, policies, premium, commission in (await session.execute(q)).all()}
    counted = await facts(session, year, quarter, insurer)
    cap = year_limits(year).commission_cap
    out = []
    for name in sorted(set(written) | set(counted)):
        policies, premium, commission = written.get(name, (0, Decimal(0), Decimal(0)))
        r = rules.ratio(commission, premium)
        row = {
            "insurer": name, "year": year, "quarter": quarter, "policies": policies,
            "written_premium": str(premium), "commission": str(commission),
            "commission_ratio": None if r is None else str(r), "commission_cap": str(cap),
            "commission_within_cap": not premium or commission <= premium * cap,
        }
        mine = counted.get(name, {})
        for kind, field in FACT_FIELDS.items():
            value = mine.get(kind, Decimal(0))
            row[field] = int(value) if kind in COUNTS else str(value.quantize(rules.Q2))
        row["fast_track_met"] = row["fast_track_opened"] - row["fast_track_missed"]
        out.append(row)
    return out


@router.get("/insurers")
async def insurers(session: SessionDep, _: Regulator, year: FundYear, quarter: Annotated[int | None, Query(ge=1, le=4)] = None) -> list[dict]:
    return await _kpis(session, year, quarter)


@router.get("/insurers/{insurer}")
async def insurer(session: SessionDep, _: Regulator, insurer: Annotated[str, Path(max_length=64)], year: FundYear) -> dict:
    quarters = [await _kpis(session, year, q, insurer) for q in (1, 2, 3, 4)]
    total = await _kpis(session, year, None, insurer)
    collected, accrued, spent = await fund_totals(session, insurer, year)
    share = rules.ratio(spent, collected)
    lim = year_limits(year)
    fund = {
        "collected_premium": str(collected), "prevention_accrued": str(accrued), "prevention_spent": str(spent),
        "spend_ratio": None if share is None else str(share), "spend_target": str(lim.spend_target), "spend_cap": str(lim.spend_cap),
        "spend_within_cap": not collected or spent <= collected * lim.spend_cap,
    }
    return {"insurer": insurer, "year": year, "prevention_fund": fund, "total": total[0] if total else None, "quarters": [q[0] if q else None for q in quarters]}


@router.get("/reports/{insurer}/{year}/Q{quarter}", summary="Quarterly supervision report of one insurer 季度监管报告")
async def quarterly_report(
    session: SessionDep, _: Regulator, insurer: Annotated[str, Path(max_length=64)], year: Annotated[int, Path(ge=2000, le=2100)],
    quarter: Annotated[int, Path(ge=1, le=4)],
) -> dict:
    """The quarter's KPIs, the prevention fund to date, and the alerts raised on the insurer in the quarter."""
    kpis = await _kpis(session, year, quarter, insurer)
    collected, accrued, spent = await fund_totals(session, insurer, year)
    lim = year_limits(year)
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    raised = (
        await session.scalars(
            select(OversightAlert).where(OversightAlert.insurer == insurer).order_by(OversightAlert.raised_at, OversightAlert.alert_id)
        )
    ).all()
    in_quarter = [a for a in raised if first <= rules_day(a.raised_at) < after]
    return {
        "insurer": insurer, "year": year, "quarter": quarter, "period": f"{year}-Q{quarter}",
        "kpis": kpis[0] if kpis else None,
        "prevention_fund_to_date": {
            "collected_premium": str(collected), "accrued": str(accrued), "spent": str(spent),
            "spend_ratio": None if rules.ratio(spent, collected) is None else str(rules.ratio(spent, collected)),
            "spend_target": str(lim.spend_target), "spend_cap": str(lim.spend_cap),
        },
        "alerts": [{"alert_id": a.alert_id, "kind": a.kind, "subject": a.subject, "message_zh": a.message_zh, "raised_at": a.raised_at.isoformat()}
                   for a in in_quarter],
    }


def rules_day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(SHANGHAI).date()


@router.get("/alerts")
async def alerts(session: SessionDep, _: Regulator, status: str | None = None) -> list[dict]:
    q = select(OversightAlert).order_by(OversightAlert.raised_at, OversightAlert.alert_id)
    if status:
        q = q.where(OversightAlert.status == status)
    return [
        {"alert_id": a.alert_id, "kind": a.kind, "subject": a.subject, "insurer": a.insurer, "credit_code": a.credit_code,
         "observed": None if a.observed is None else str(a.observed), "limit": None if a.limit is None else str(a.limit),
         "message_zh": a.message_zh, "status": a.status, "raised_at": a.raised_at.isoformat()}
        for a in (await session.scalars(q)).all()
    ]


Evaluator = Annotated[Principal, Depends(authorize(Role.EMERGENCY_ADMIN, scopes=("monitoring:write",)))]


@router.post("/alerts/evaluate")
async def evaluate_alerts(session: SessionDep, principal: Evaluator, on: date) -> dict:
    """Date-driven rules, run on demand (a scheduler may call this daily).

    * spend pace: an insurer's fund year ``on.year`` whose spend is below target × collected premium ×
      elapsed share of the year (day of year / days in year) on ``on``; once per insurer and year.
    * mandatory uninsured: every 应保未保 unit on ``on`` from the hub's coverage; once per unit and year.
    """
    now = datetime.now(UTC)
    raised: list[str] = []
    elapsed = rules.ratio_of_year(on)
    target = year_limits(on.year, field="on").spend_target
    insurers = (await session.scalars(select(OversightFundEntry.insurer).where(OversightFundEntry.year == on.year).distinct())).all()
    for insurer in sorted(insurers):
        collected, _accrued, spent = await fund_totals(session, insurer, on.year)
        pace = collected * target * elapsed
        if collected > 0 and spent < pace:
            if await raise_alert(
                session, AlertKind.PREVENTION_SPEND_BELOW_PACE, f"insurers/{insurer}/{on.year}", insurer=insurer, credit_code=None,
                observed=rules.ratio(spent, collected), limit=(target * elapsed).quantize(rules.Q4),
                message_zh=f"{insurer} {on.year}年度预防费用支出{spent}元，落后于截至{on.isoformat()}应达到的进度{pace.quantize(rules.Q2)}元（目标{target:.0%}）",
                message_en=f"{insurer} spent {spent} on prevention by {on.isoformat()}, behind the pace of {pace.quantize(rules.Q2)} ({target:.0%} target)",
                at=now,
            ):
                raised.append(f"{AlertKind.PREVENTION_SPEND_BELOW_PACE.value}:{insurer}")
    for group in await hub.coverage(session, principal, on=on, industry=None, district=None):
        for unit in group["uninsured"]:
            if await raise_alert(
                session, AlertKind.MANDATORY_UNINSURED, f"enterprises/{unit['credit_code']}/{on.year}", insurer=None,
                credit_code=unit["credit_code"], observed=None, limit=None,
                message_zh=f"应保未保：{unit['name']}（{group['industry']}，{group['district']}）于{on.isoformat()}未投保安责险",
                message_en=f"Mandatory unit {unit['credit_code']} is uninsured on {on.isoformat()}",
                at=now,
            ):
                raised.append(f"{AlertKind.MANDATORY_UNINSURED.value}:{unit['credit_code']}")
    return {"on": on.isoformat(), "raised": raised}


EvaluationWriter = Annotated[Principal, Depends(authorize(Role.EMERGENCY_ADMIN, scopes=("evaluation:write",)))]
evaluations = APIRouter(prefix="/evaluations", tags=["annual evaluation"], responses=PROBLEM_RESPONSES)
public = APIRouter(prefix="/public", tags=["public disclosure"])


@evaluations.post("/{year}")
async def compute_evaluation(session: SessionDep, _: EvaluationWriter, year: EvaluationYear) -> dict:
    """(Re)compute the year's evaluation; a published one is frozen and returned as published."""
    row = await session.get(OversightEvaluation, year)
    if row is not None and row.published_on is not None:
        return json.loads(row.result) | {"published_on": row.published_on.isoformat()}
    result = await evaluation.evaluate(session, year)
    if row is None:
        row = OversightEvaluation(year=year, evaluation_id=f"EV-{year}")
        session.add(row)
    row.result, row.computed_at = json.dumps(result, ensure_ascii=False), datetime.now(UTC)
    return result | {"published_on": None}


@evaluations.post("/{year}/publish")
async def publish_evaluation(session: SessionDep, _: EvaluationWriter, year: EvaluationYear) -> dict:
    row = await session.get(OversightEvaluation, year)
    if row is None:
        raise NotFound("evaluation.not_found", "该年度尚未计算综合评价", "No evaluation computed for this year")
    result = json.loads(row.result)
    if row.published_on is None:
        row.published_on = datetime.now(UTC).date()
        payload = EvaluationPublished(evaluation_id=row.evaluation_id, period=str(year), published_on=row.published_on, ranking=result["ranking"])
        await outbox.enqueue(session, payload, partition_key=row.evaluation_id, subject=f"evaluations/{year}")
    return result | {"published_on": row.published_on.isoformat()}


async def _published(session) -> list[dict]:
    rows = (await session.scalars(select(OversightEvaluation).where(OversightEvaluation.published_on.is_not(None)).order_by(OversightEvaluation.year.desc()))).all()
    return [json.loads(r.result) | {"evaluation_id": r.evaluation_id, "published_on": r.published_on.isoformat()} for r in rows]


@public.get("/disclosures")
async def disclosures(session: SessionDep) -> list[dict]:
    """Published evaluations only 公示; no token needed."""
    return await _published(session)


@public.get("/disclosures.html", response_class=HTMLResponse)
async def disclosures_page(session: SessionDep) -> str:
    parts = ["<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>安全生产责任保险承保机构综合评价结果公示</title></head><body>",
             "<h1>安全生产责任保险承保机构综合评价结果公示</h1>"]
    items = await _published(session)
    if not items:
        parts.append("<p>暂无已公示的评价结果。</p>")
    for item in items:
        parts.append(f"<h2>{item['year']}年度（公示日期：{item['published_on']}）</h2><table border='1'><tr><th>排名</th><th>保险机构</th><th>综合得分</th></tr>")
        for s in item["scores"]:
            parts.append(f"<tr><td>{s['rank']}</td><td>{html.escape(s['insurer'])}</td><td>{s['total']}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


routers: list[APIRouter] = [router, evaluations, public, dashboard.router]
