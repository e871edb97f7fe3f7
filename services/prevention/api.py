"""HTTP routes of the prevention service (thin: translate HTTP to a use case in ``service.py``).

Every POST that creates something takes an ``Idempotency-Key`` header (kernel.idempotency).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from contracts.events.prevention import HazardStatus
from contracts.profiles.schema import JurisdictionProfile
from kernel import spreadsheets
from kernel.database import SessionDep
from kernel.deps import Now, OutboxDep, current_time
from kernel.errors import PROBLEM_RESPONSES
from kernel.idempotency import IdempotencyKey, idempotent
from services.prevention import rules, service
from services.prevention.auth import DishonestyKeeper, FundReader, InsurerWriter, PreventionReader, PreventionWriter
from services.prevention.schemas import (
    CloseOut,
    DishonestyIn,
    EvaluationIn,
    EvaluationOut,
    ExpenseIn,
    FilingIn,
    FilingOut,
    FundEntryOut,
    FundPositionOut,
    HazardIn,
    HazardOut,
    HazardPage,
    HazardStatusIn,
    InstitutionIn,
    InstitutionOut,
    InstitutionPage,
    ReversalIn,
    ServicePlanIn,
    ServicePlanOut,
    ServiceRecordIn,
    ServiceRecordOut,
    ServiceRecordPage,
)




def current_profile(request: Request, now: Annotated[datetime, Depends(current_time)]) -> JurisdictionProfile:
    """The profile of the service's jurisdiction in force today (Shanghai date)."""
    return service.profile_for(request.app.state.settings.jurisdiction, now.astimezone(rules.SHANGHAI).date())


Profile = Annotated[JurisdictionProfile, Depends(current_profile)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=64)]
Code = Annotated[str, Path(min_length=18, max_length=18, description="Unified social credit code 统一社会信用代码")]
CodeFilter = Annotated[str | None, Query(min_length=18, max_length=18)]

institutions = APIRouter(tags=["institutions 技术服务机构"], responses=PROBLEM_RESPONSES)
records = APIRouter(tags=["service plans and records 服务方案与记录"], responses=PROBLEM_RESPONSES)
hazards = APIRouter(tags=["hazard ledger 隐患台账"], responses=PROBLEM_RESPONSES)
fund = APIRouter(tags=["prevention-fund ledger 事故预防费用台账"], responses=PROBLEM_RESPONSES)


# --- institutions ----------------------------------------------------------------------------


@institutions.post("/institutions", status_code=201, response_model=InstitutionOut, summary="Register an institution 技术服务机构登记")
async def register_institution(
    body: InstitutionIn, principal: PreventionWriter, session: SessionDep, outbox: OutboxDep, profile: Profile, now: Now, request: Request,
    key: IdempotencyKey = None,
):
    return await idempotent(
        request, session, principal.client_id, key, lambda: service.register_institution(session, outbox, principal, body, profile, now), 201
    )


@institutions.get("/institutions", response_model=InstitutionPage, summary="Institutions and their standing 机构名录")
async def list_institutions(principal: PreventionReader, session: SessionDep, profile: Profile, limit: Limit = 100, cursor: Cursor = None):
    return await service.list_institutions(session, profile, limit=limit, after=cursor)


@institutions.get("/institutions/{code}", response_model=InstitutionOut, summary="One institution 机构详情")
async def get_institution(code: Code, principal: PreventionReader, session: SessionDep, profile: Profile):
    return await service.institution_view(session, await service._institution(session, code), profile)


@institutions.post("/institutions/{code}/filings", status_code=201, response_model=FilingOut, summary="File an institution 备案委托")
async def file_institution(
    code: Code, body: FilingIn, principal: InsurerWriter, session: SessionDep, outbox: OutboxDep, profile: Profile, request: Request,
    key: IdempotencyKey = None,
):
    return await idempotent(request, session, principal.client_id, key, lambda: service.file_institution(session, outbox, principal, code, body, profile), 201)


@institutions.post("/institutions/{code}/evaluations", status_code=201, response_model=EvaluationOut, summary="Evaluate an institution 年度评估")
async def evaluate_institution(
    code: Code, body: EvaluationIn, principal: InsurerWriter, session: SessionDep, outbox: OutboxDep, profile: Profile, request: Request,
    key: IdempotencyKey = None,
):
    return await idempotent(
        request, session, principal.client_id, key, lambda: service.evaluate_institution(session, outbox, principal, code, body, profile), 201
    )


@institutions.post("/institutions/{code}/dishonesty", response_model=InstitutionOut, summary="Put on the dishonesty list 列入失信名单")
async def list_dishonest(code: Code, body: DishonestyIn, principal: DishonestyKeeper, session: SessionDep, outbox: OutboxDep, profile: Profile):
    return await service.list_dishonest(session, outbox, code, body, profile)


# --- plans and records -----------------------------------------------------------------------


@records.post("/service-plans", status_code=201, response_model=ServicePlanOut, summary="Service plan for an insured unit 服务方案")
async def create_plan(
    body: ServicePlanIn, principal: PreventionWriter, session: SessionDep, profile: Profile, now: Now, request: Request, key: IdempotencyKey = None
):
    return await idempotent(request, session, principal.client_id, key, lambda: service.create_plan(session, principal, body, profile, now), 201)


@records.get("/service-plans", response_model=list[ServicePlanOut], summary="Service plans 服务方案")
async def list_plans(principal: PreventionReader, session: SessionDep, credit_code: CodeFilter = None):
    return await service.list_plans(session, principal, credit_code)


@records.post("/service-records", status_code=201, response_model=ServiceRecordOut, summary="Record a service 服务记录")
async def record_service(
    body: ServiceRecordIn, principal: PreventionWriter, session: SessionDep, outbox: OutboxDep, profile: Profile, now: Now, request: Request,
    key: IdempotencyKey = None,
):
    return await idempotent(request, session, principal.client_id, key, lambda: service.record_service(session, outbox, principal, body, profile, now), 201)


@records.get("/service-records", response_model=ServiceRecordPage, summary="Service records 服务记录 (each party sees its own)")
async def list_records(principal: PreventionReader, session: SessionDep, credit_code: CodeFilter = None, limit: Limit = 100, cursor: Cursor = None):
    return await service.list_records(session, principal, credit_code=credit_code, limit=limit, after=cursor)


# --- hazards ---------------------------------------------------------------------------------


@hazards.post("/hazards", status_code=201, response_model=HazardOut, summary="Enter a hazard 隐患登记")
async def report_hazard(
    body: HazardIn, principal: PreventionWriter, session: SessionDep, outbox: OutboxDep, now: Now, request: Request, key: IdempotencyKey = None
):
    return await idempotent(request, session, principal.client_id, key, lambda: service.report_hazard(session, outbox, principal, body, now), 201)


@hazards.get("/hazards", response_model=HazardPage, summary="Hazard ledger 隐患台账")
async def list_hazards(
    principal: PreventionReader, session: SessionDep, status: HazardStatus | None = None, credit_code: CodeFilter = None, limit: Limit = 100,
    cursor: Cursor = None,
):
    return await service.list_hazards(session, principal, status=status, credit_code=credit_code, limit=limit, after=cursor)


ENFORCEMENT_NOTE = "说明：标记为“整改中，不作为执法依据”的隐患尚在整改期内 / Hazards marked “not an enforcement basis” are still being rectified."
EXPORT_COLUMNS = {
    "hazard_id": "隐患编号 hazard_id", "credit_code": "单位 credit_code", "insurer": "保险机构 insurer", "level": "级别 level",
    "description": "描述 description", "found_on": "发现日期 found_on", "deadline": "整改期限 deadline", "status": "状态 status",
    "self_inspection": "视同企业自查 counts_as_self_inspection", "mark": "执法依据 enforcement_basis",
}


def _mark(hazard: HazardOut) -> str:
    if hazard.enforcement_basis:
        return "可作为执法依据 basis"
    if hazard.status in rules.UNDER_RECTIFICATION:
        return "整改中，不作为执法依据 not an enforcement basis"
    return "不作为执法依据 not an enforcement basis"


def _export_row(hazard: HazardOut) -> dict:
    return hazard.model_dump(mode="json") | {"self_inspection": hazard.counts_as_self_inspection, "mark": _mark(hazard)}


@hazards.get("/hazards.csv", summary="Hazard ledger as CSV 隐患台账导出", response_class=StreamingResponse,
             responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with BOM; every row carries the enforcement mark"}})
async def export_hazards(principal: PreventionReader, request: Request):
    async def batches() -> AsyncIterator[list[dict]]:
        async for views in service.hazard_batches(request.app.state.sessionmaker, principal):
            yield [_export_row(h) for h in views]

    body = spreadsheets.csv_stream([ENFORCEMENT_NOTE], list(EXPORT_COLUMNS.values()), list(EXPORT_COLUMNS), batches())
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": 'attachment; filename="hazards.csv"'})


@hazards.get("/hazards/{hazard_id}", response_model=HazardOut, summary="One hazard 隐患详情")
async def get_hazard(hazard_id: Annotated[str, Path(max_length=40)], principal: PreventionReader, session: SessionDep):
    return await service.get_hazard(session, principal, hazard_id)


@hazards.post("/hazards/{hazard_id}/status", response_model=HazardOut, summary="Change rectification status 整改状态变更")
async def change_hazard_status(
    hazard_id: Annotated[str, Path(max_length=40)], body: HazardStatusIn, principal: PreventionWriter, session: SessionDep, outbox: OutboxDep, now: Now
):
    return await service.change_hazard_status(session, outbox, principal, hazard_id, body, now)


# --- fund ------------------------------------------------------------------------------------


@fund.post("/fund/expenses", status_code=201, response_model=FundEntryOut, summary="Book a prevention expense 预防费用支出")
async def book_expense(
    body: ExpenseIn, principal: InsurerWriter, session: SessionDep, outbox: OutboxDep, profile: Profile, now: Now, request: Request,
    key: IdempotencyKey = None,
):
    return await idempotent(request, session, principal.client_id, key, lambda: service.book_expense(session, outbox, principal, body, profile, now), 201)


@fund.post("/fund/entries/{entry_id}/reversal", status_code=201, response_model=FundEntryOut, summary="Reverse an expense 冲销分录")
async def reverse_entry(
    entry_id: Annotated[str, Path(max_length=40)], body: ReversalIn, principal: InsurerWriter, session: SessionDep, outbox: OutboxDep, now: Now,
    request: Request, key: IdempotencyKey = None,
):
    return await idempotent(request, session, principal.client_id, key, lambda: service.reverse_entry(session, outbox, principal, entry_id, body, now), 201)


Year = Annotated[int, Path(ge=2000, le=2100)]


@fund.post("/fund/{year}/close", status_code=201, response_model=CloseOut, summary="Close a year, carry unused money over 年度结转")
async def close_year(year: Year, principal: InsurerWriter, session: SessionDep, outbox: OutboxDep, profile: Profile, now: Now):
    return await service.close_year(session, outbox, principal, year, profile, now)


@fund.get("/fund/{year}", response_model=FundPositionOut, summary="A year's fund ledger and compliance 费用台账与合规情况")
async def fund_position(
    year: Year, principal: FundReader, session: SessionDep, profile: Profile, now: Now,
    insurer: Annotated[str | None, Query(max_length=100, description="Regulators name the insurer; an insurer sees its own")] = None,
):
    return await service.fund_position(session, principal, year, insurer, profile, now)


routers = [institutions, records, hazards, fund]
