"""HTTP routes of the policy service (thin: translate HTTP to a use case).

Every POST that creates something takes an ``Idempotency-Key`` header (kernel.idempotency).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from kernel.database import SessionDep
from kernel.errors import PROBLEM_RESPONSES
from kernel.idempotency import IdempotencyKey, idempotent
from services.policy import service
from services.policy.auth import EnterpriseReader, EnterpriseWriter, InsurerWriter, PolicyReader, RosterReader, Verifier
from services.policy.schemas import (
    CancellationIn,
    CancellationOut,
    EndorsementIn,
    EndorsementOut,
    EnterpriseCreate,
    EnterpriseOut,
    EnterprisePage,
    EnterpriseUpdate,
    PolicyIn,
    PolicyOut,
    PolicyPage,
    PremiumReceiptIn,
    PremiumReceiptOut,
    QuoteIn,
    QuoteOut,
    RenewalIn,
    RosterIn,
    RosterOut,
    VerificationOut,
)

enterprises = APIRouter(tags=["enterprises"], responses=PROBLEM_RESPONSES)
quotes = APIRouter(tags=["quotes"], responses=PROBLEM_RESPONSES)
policies = APIRouter(tags=["policies"], responses=PROBLEM_RESPONSES)
verification = APIRouter(tags=["verification"], responses=PROBLEM_RESPONSES)
routers = [enterprises, quotes, policies, verification]

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=200)]
CREATED = status.HTTP_201_CREATED


@enterprises.post("/enterprises", status_code=CREATED, response_model=EnterpriseOut, summary="Register an enterprise 登记投保单位")
async def register_enterprise(body: EnterpriseCreate, principal: EnterpriseWriter, session: SessionDep, request: Request, key: IdempotencyKey = None):
    async def produce():
        enterprise = await service.register_enterprise(
            session, service.outbox_of(request), principal, body, request.app.state.settings.jurisdiction, service.now_of(request)
        )
        return EnterpriseOut.model_validate(enterprise)

    return await idempotent(request, session, principal.client_id, key, produce, CREATED)


@enterprises.get("/enterprises", response_model=EnterprisePage, summary="List enterprises 投保单位列表")
async def list_enterprises(principal: EnterpriseReader, session: SessionDep, limit: Limit = 100, cursor: Cursor = None):
    items, next_cursor = await service.list_enterprises(session, limit=limit, cursor=cursor)
    return EnterprisePage(items=items, next_cursor=next_cursor)


@enterprises.get("/enterprises/{credit_code}", response_model=EnterpriseOut, summary="One enterprise 单位详情")
async def get_enterprise(credit_code: str, principal: EnterpriseReader, session: SessionDep):
    return await service.get_enterprise(session, credit_code)


@enterprises.put("/enterprises/{credit_code}", response_model=EnterpriseOut, summary="Change an enterprise's details 变更单位信息")
async def update_enterprise(credit_code: str, body: EnterpriseUpdate, principal: EnterpriseWriter, session: SessionDep, request: Request):
    return await service.update_enterprise(session, service.outbox_of(request), principal, credit_code, body, service.now_of(request))


@enterprises.put("/enterprises/{credit_code}/roster", response_model=RosterOut, summary="Replace the roster 报送从业人员名册")
async def replace_roster(credit_code: str, body: RosterIn, principal: EnterpriseWriter, session: SessionDep):
    return await service.replace_roster(session, principal, credit_code, body)


@enterprises.get("/enterprises/{credit_code}/roster", response_model=RosterOut, summary="The roster 从业人员名册")
async def get_roster(credit_code: str, principal: RosterReader, session: SessionDep):
    return await service.get_roster(session, principal, credit_code)


@quotes.post("/quotes", status_code=CREATED, response_model=QuoteOut, summary="Rate a quote 询价报价 (full breakdown)")
async def create_quote(body: QuoteIn, principal: InsurerWriter, session: SessionDep, request: Request, key: IdempotencyKey = None):
    async def produce():
        quote = await service.create_quote(session, principal, body, service.now_of(request), request.app.state.settings.quote_valid_days)
        return QuoteOut.model_validate(quote)

    return await idempotent(request, session, principal.client_id, key, produce, CREATED)


@quotes.get("/quotes/{quote_id}", response_model=QuoteOut, summary="One quote 报价详情")
async def get_quote(quote_id: str, principal: PolicyReader, session: SessionDep):
    return await service.get_quote(session, principal, quote_id)


@policies.post("/policies", status_code=CREATED, response_model=PolicyOut, summary="Issue a policy from a quote 承保出单")
async def issue_policy(body: PolicyIn, principal: InsurerWriter, session: SessionDep, request: Request, key: IdempotencyKey = None):
    async def produce():
        policy = await service.issue_policy(session, service.outbox_of(request), principal, body.quote_id, service.now_of(request))
        return PolicyOut.model_validate(policy)

    return await idempotent(request, session, principal.client_id, key, produce, CREATED)


@policies.get("/policies", response_model=PolicyPage, summary="Policies 保单列表 (an insurer sees its own)")
async def list_policies(
    principal: PolicyReader,
    session: SessionDep,
    credit_code: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
):
    items, next_cursor = await service.list_policies(session, principal, credit_code=credit_code, limit=limit, cursor=cursor)
    return PolicyPage(items=[PolicyOut.model_validate(p) for p in items], next_cursor=next_cursor)


@policies.get("/policies/{policy_no}", response_model=PolicyOut, summary="One policy 保单详情")
async def get_policy(policy_no: str, principal: PolicyReader, session: SessionDep):
    return await service.get_policy(session, principal, policy_no)


@policies.post("/policies/{policy_no}/endorsements", status_code=CREATED, response_model=EndorsementOut, summary="Add or remove insured people 批改")
async def endorse(policy_no: str, body: EndorsementIn, principal: InsurerWriter, session: SessionDep, request: Request, key: IdempotencyKey = None):
    async def produce():
        return EndorsementOut.model_validate(await service.endorse(session, service.outbox_of(request), principal, policy_no, body, service.now_of(request)))

    return await idempotent(request, session, principal.client_id, key, produce, CREATED)


@policies.post(
    "/policies/{policy_no}/premium-receipts", status_code=CREATED, response_model=PremiumReceiptOut, summary="Record premium received or refunded 实收保费"
)
async def record_premium(policy_no: str, body: PremiumReceiptIn, principal: InsurerWriter, session: SessionDep, request: Request, key: IdempotencyKey = None):
    async def produce():
        return PremiumReceiptOut.model_validate(
            await service.record_premium(session, service.outbox_of(request), principal, policy_no, body, service.now_of(request))
        )

    return await idempotent(request, session, principal.client_id, key, produce, CREATED)


@policies.post("/policies/{policy_no}/cancellation", status_code=CREATED, response_model=CancellationOut, summary="Cancel with pro-rata refund 退保")
async def cancel(policy_no: str, body: CancellationIn, principal: InsurerWriter, session: SessionDep, request: Request, key: IdempotencyKey = None):
    async def produce():
        return CancellationOut.model_validate(await service.cancel(session, service.outbox_of(request), principal, policy_no, body, service.now_of(request)))

    return await idempotent(request, session, principal.client_id, key, produce, CREATED)


@policies.post("/policies/{policy_no}/renewal", status_code=CREATED, response_model=PolicyOut, summary="Renew, re-rated on experience 续保")
async def renew(policy_no: str, body: RenewalIn, principal: InsurerWriter, session: SessionDep, request: Request, key: IdempotencyKey = None):
    async def produce():
        return PolicyOut.model_validate(await service.renew(session, service.outbox_of(request), principal, policy_no, body, service.now_of(request)))

    return await idempotent(request, session, principal.client_id, key, produce, CREATED)


@verification.get("/verification/{credit_code}", response_model=VerificationOut, summary="Is the enterprise insured today? 投保核验")
async def verify(credit_code: str, principal: Verifier, session: SessionDep, request: Request, on: date | None = None):
    return await service.verify(session, principal, credit_code, on or service.shanghai_today(service.now_of(request)))
