"""HTTP routes of the claims service (thin: translate HTTP to a use case in ``service.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from kernel.database import SessionDep
from kernel.deps import Now, OutboxDep
from kernel.errors import PROBLEM_RESPONSES
from kernel.idempotency import IdempotencyKey, idempotent
from services.claims import service
from services.claims.auth import ClaimReader, ClaimWriter
from services.claims.schemas import (
    CasualtyRevision,
    ClaimOut,
    ClaimPage,
    ClaimReport,
    CostIn,
    CostOut,
    PaymentIn,
    PaymentOut,
    ReasonIn,
    VictimIn,
    VictimOut,
)

router = APIRouter(tags=["claims 理赔"], responses=PROBLEM_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post("/claims", status_code=201, response_model=ClaimOut, summary="Report an accident 报案")
async def report_claim(
    body: ClaimReport, principal: ClaimWriter, session: SessionDep, outbox: OutboxDep, now: Now, request: Request,
    key: IdempotencyKey = None,
):
    return await idempotent(request, session, principal.client_id, key, lambda: service.report(session, outbox, principal, body, now), 201)


@router.get("/claims", response_model=ClaimPage, summary="Claims 赔案列表 (an insurer sees its own)")
async def list_claims(
    principal: ClaimReader, session: SessionDep, now: Now, credit_code: str | None = None,
    status: Annotated[str | None, Query(pattern="^(OPEN|SETTLED|CLOSED)$")] = None, limit: Limit = 100, cursor: Cursor = None,
):
    return await service.list_claims(session, principal, now, credit_code=credit_code, status=status, limit=limit, cursor=cursor)


@router.get("/claims/{claim_id}", response_model=ClaimOut, summary="One claim with its fast-track clock 赔案详情")
async def get_claim(claim_id: str, principal: ClaimReader, session: SessionDep, now: Now):
    return await service.get_claim(session, principal, claim_id, now)


@router.patch("/claims/{claim_id}", response_model=ClaimOut, summary="Revise casualty figures 伤亡人数补报")
async def revise_claim(claim_id: str, body: CasualtyRevision, principal: ClaimWriter, session: SessionDep, outbox: OutboxDep, now: Now):
    return await service.revise(session, outbox, principal, claim_id, body, now)


@router.post("/claims/{claim_id}/victims", status_code=201, response_model=VictimOut, summary="Add and assess a victim 伤亡人员理算")
async def add_victim(claim_id: str, body: VictimIn, principal: ClaimWriter, session: SessionDep, outbox: OutboxDep):
    return await service.add_victim(session, outbox, principal, claim_id, body)


@router.get("/claims/{claim_id}/victims", response_model=list[VictimOut], summary="Victims 伤亡人员")
async def list_victims(claim_id: str, principal: ClaimReader, session: SessionDep):
    return await service.list_victims(session, principal, claim_id)


@router.post("/claims/{claim_id}/costs", status_code=201, response_model=CostOut, summary="Rescue or legal costs 施救/法律费用")
async def add_cost(claim_id: str, body: CostIn, principal: ClaimWriter, session: SessionDep, outbox: OutboxDep):
    return await service.add_cost(session, outbox, principal, claim_id, body)


@router.post("/claims/{claim_id}/prepayments", status_code=201, response_model=PaymentOut, summary="Pre-pay 预赔")
async def prepay(claim_id: str, body: PaymentIn, principal: ClaimWriter, session: SessionDep, outbox: OutboxDep, now: Now):
    return await service.prepay(session, outbox, principal, claim_id, body, now)


@router.get("/claims/{claim_id}/payments", response_model=list[PaymentOut], summary="Payment records 支付记录")
async def list_payments(claim_id: str, principal: ClaimReader, session: SessionDep):
    return await service.list_payments(session, principal, claim_id)


@router.post("/claims/{claim_id}/settlement", response_model=ClaimOut, summary="Final settlement 结案赔付")
async def settle(claim_id: str, principal: ClaimWriter, session: SessionDep, outbox: OutboxDep, now: Now):
    return await service.settle(session, outbox, principal, claim_id, now)


@router.post("/claims/{claim_id}/close", response_model=ClaimOut, summary="Close 关闭赔案")
async def close(claim_id: str, body: ReasonIn, principal: ClaimWriter, session: SessionDep, outbox: OutboxDep, now: Now):
    return await service.close(session, outbox, principal, claim_id, body.reason, now)


@router.post("/claims/{claim_id}/reopen", response_model=ClaimOut, summary="Reopen 重开赔案")
async def reopen(claim_id: str, body: ReasonIn, principal: ClaimWriter, session: SessionDep, outbox: OutboxDep, now: Now):
    return await service.reopen(session, outbox, principal, claim_id, body.reason, now)
