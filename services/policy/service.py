"""Use cases of the policy service: one transaction each, state change and outbox event together.

Tenant isolation: an insurer reading or changing another insurer's quote or policy gets 404, as
if it did not exist, so the existence of a competitor's business never leaks.
"""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import Request
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import Industry, Role
from contracts.events.envelope import EventPayload
from contracts.events.policy import (
    EnterpriseRegistered,
    InsuredPerson,
    PolicyCancelled,
    PolicyEndorsed,
    PolicyIssued,
    PolicyRenewed,
    PolicySubLimits,
    PremiumCollected,
    PremiumRefunded,
)
from contracts.profiles import JurisdictionProfile, get_profile
from contracts.profiles.schema import AccidentGrade
from kernel.auth import Principal
from kernel.errors import Conflict, DomainError, Forbidden, NotFound
from kernel.outbox import Outbox
from services.policy import rules
from services.policy.models import (
    AccidentExperience,
    Endorsement,
    Enterprise,
    HazardExperience,
    Policy,
    PolicyInsured,
    PremiumReceipt,
    Quote,
    RosterMember,
)
from services.policy.schemas import (
    CancellationIn,
    EndorsementIn,
    EnterpriseCreate,
    EnterpriseUpdate,
    PremiumReceiptIn,
    QuoteIn,
    RenewalIn,
    RosterIn,
)

RISK_FACTS = ("accident_record", "violation_record", "hazard_rectification", "social_rescue", "safety_award")
REGULATORS = (Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR)


def outbox_of(request: Request) -> Outbox:
    return request.app.state.outbox


def now_of(request: Request) -> datetime:
    """The service's clock (injectable through ``app.state.clock``), timezone-aware UTC."""
    return request.app.state.clock()


def shanghai_today(now: datetime) -> date:
    return (now.astimezone(UTC) + timedelta(hours=8)).date()  # Asia/Shanghai has no DST


async def _publish(session: AsyncSession, outbox: Outbox, payload: EventPayload, credit_code: str, subject: str, now: datetime) -> None:
    await outbox.enqueue(session, payload, partition_key=credit_code, subject=subject, time=now)


# --- enterprises ---------------------------------------------------------------------------


def _enterprise_event(enterprise: Enterprise, changed_fields: list[str]) -> EnterpriseRegistered:
    return EnterpriseRegistered(
        credit_code=enterprise.credit_code,
        name=enterprise.name,
        industry=Industry(enterprise.industry),
        district=enterprise.district,
        headcount=enterprise.headcount,
        jurisdiction=enterprise.jurisdiction,
        must_insure=enterprise.must_insure,
        revision=enterprise.revision,
        changed_fields=changed_fields,
    )


async def register_enterprise(
    session: AsyncSession, outbox: Outbox, principal: Principal, data: EnterpriseCreate, jurisdiction: str, now: datetime | None = None
) -> Enterprise:
    if await session.get(Enterprise, data.credit_code) is not None:
        raise Conflict(
            "enterprise.already_registered",
            "该统一社会信用代码的单位已登记",
            "An enterprise with this credit code is already registered",
            field="credit_code",
        )
    now = now or datetime.now(UTC)
    enterprise = Enterprise(
        **data.model_dump(mode="json"),
        jurisdiction=jurisdiction,
        must_insure=rules.must_insure(data.industry, jurisdiction, shanghai_today(now)),
        registered_by=principal.tenant,
        registered_at=now,
        revision=1,
    )
    session.add(enterprise)
    await _publish(session, outbox, _enterprise_event(enterprise, []), enterprise.credit_code, f"enterprises/{enterprise.credit_code}", now)
    return enterprise


async def get_enterprise(session: AsyncSession, credit_code: str) -> Enterprise:
    enterprise = await session.get(Enterprise, credit_code.upper())
    if enterprise is None:
        raise NotFound("enterprise.not_found", "未找到该单位", "No enterprise with this credit code", field="credit_code")
    return enterprise


async def _enterprise_for_writing(session: AsyncSession, principal: Principal, credit_code: str) -> Enterprise:
    """The registering insurer, or one holding a policy for the unit, may change its details."""
    enterprise = await get_enterprise(session, credit_code)
    if enterprise.registered_by != principal.tenant:
        holds = await session.scalar(
            select(Policy.policy_no).where(Policy.credit_code == enterprise.credit_code, Policy.insurer == principal.tenant).limit(1)
        )
        if holds is None:
            raise Forbidden(
                "enterprise.not_your_client",
                "仅登记该单位或为其承保的保险机构可以修改其信息",
                "Only the insurer that registered or insures this enterprise may change it",
                field="credit_code",
            )
    return enterprise


async def update_enterprise(
    session: AsyncSession, outbox: Outbox, principal: Principal, credit_code: str, data: EnterpriseUpdate, now: datetime
) -> Enterprise:
    enterprise = await _enterprise_for_writing(session, principal, credit_code)
    values = data.model_dump(mode="json")
    changed = sorted(k for k, v in values.items() if getattr(enterprise, k) != v)
    if not changed:
        return enterprise
    for key in changed:
        setattr(enterprise, key, values[key])
    enterprise.must_insure = rules.must_insure(data.industry, enterprise.jurisdiction, shanghai_today(now))
    enterprise.revision += 1
    enterprise.updated_at = now
    await _publish(session, outbox, _enterprise_event(enterprise, changed), enterprise.credit_code, f"enterprises/{enterprise.credit_code}", now)
    return enterprise


def _encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _decode_cursor(cursor: str, length: int | None = 18) -> str:
    try:
        value = base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except ValueError:
        value = ""
    if not value or (length is not None and len(value) != length):
        raise DomainError("pagination.cursor_invalid", "分页游标无效", "The pagination cursor is invalid", field="cursor")
    return value


async def list_enterprises(session: AsyncSession, *, limit: int, cursor: str | None) -> tuple[list[Enterprise], str | None]:
    query = select(Enterprise).order_by(Enterprise.credit_code).limit(limit + 1)
    if cursor:
        query = query.where(Enterprise.credit_code > _decode_cursor(cursor))
    rows = list((await session.execute(query)).scalars())
    next_cursor = _encode_cursor(rows[limit - 1].credit_code) if len(rows) > limit else None
    return rows[:limit], next_cursor


# --- rosters -------------------------------------------------------------------------------


def _roster_view(credit_code: str, members: list[Any]) -> dict[str, Any]:
    return {
        "credit_code": credit_code,
        "insured_amount": members[0].insured_amount if members else Decimal(0),
        "headcount": len(members),
        "by_employment_type": dict(Counter(str(m.employment_type) for m in members)),
        "members": [
            {"resident_id": m.resident_id, "name": m.name, "employment_type": str(m.employment_type), "insured_amount": m.insured_amount}
            for m in members
        ],
    }


async def replace_roster(session: AsyncSession, principal: Principal, credit_code: str, data: RosterIn) -> dict[str, Any]:
    """Replace the roster 名册; one insured amount for all, whatever the employment type (Art. 16, 44)."""
    enterprise = await _enterprise_for_writing(session, principal, credit_code)
    amount = rules.uniform_insured_amount([m.insured_amount for m in data.members])
    seen: set[str] = set()
    for index, member in enumerate(data.members):
        if member.resident_id in seen:
            raise DomainError(
                "roster.duplicate_person", "名册中同一身份证号出现两次", "A resident ID appears twice on the roster", field=f"members.{index}.resident_id"
            )
        seen.add(member.resident_id)
    for old in (await session.execute(select(RosterMember).where(RosterMember.credit_code == enterprise.credit_code))).scalars():
        await session.delete(old)
    await session.flush()
    members = [
        RosterMember(
            credit_code=enterprise.credit_code, resident_id=m.resident_id, name=m.name, employment_type=m.employment_type.value, insured_amount=amount
        )
        for m in data.members
    ]
    session.add_all(members)
    return _roster_view(enterprise.credit_code, members)


async def _roster(session: AsyncSession, credit_code: str) -> list[RosterMember]:
    query = select(RosterMember).where(RosterMember.credit_code == credit_code).order_by(RosterMember.resident_id)
    return list((await session.execute(query)).scalars())


async def get_roster(session: AsyncSession, principal: Principal, credit_code: str) -> dict[str, Any]:
    """The roster; an insurer sees only its own clients' (resident IDs are personal data)."""
    if principal.role == Role.INSURER:
        enterprise = await _enterprise_for_writing(session, principal, credit_code)
    else:
        enterprise = await get_enterprise(session, credit_code)
    return _roster_view(enterprise.credit_code, await _roster(session, enterprise.credit_code))


# --- quotes --------------------------------------------------------------------------------


def _facts(enterprise: Enterprise) -> dict[str, str]:
    return {k: getattr(enterprise, k) for k in RISK_FACTS}


async def _hazard_option(session: AsyncSession, credit_code: str, since: datetime | None = None) -> str | None:
    query = select(HazardExperience.status).where(HazardExperience.credit_code == credit_code)
    if since is not None:
        query = query.where(HazardExperience.changed_at >= since)
    statuses = list((await session.execute(query)).scalars())
    return rules.hazard_rectification_option(statuses) if statuses else None


async def _accident_option(session: AsyncSession, credit_code: str, start: date, end: date) -> str:
    rows = (await session.execute(select(AccidentExperience).where(AccidentExperience.credit_code == credit_code))).scalars()
    grades = [AccidentGrade(a.grade) for a in rows if start <= shanghai_today(_aware(a.occurred_at)) <= end]
    return rules.accident_record_option(grades)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _profile(enterprise: Enterprise, start: date) -> JurisdictionProfile:
    return get_profile(enterprise.jurisdiction, start)


def _rate(
    profile: JurisdictionProfile,
    enterprise: Enterprise,
    *,
    per_person_limit: Decimal,
    headcount: int,
    start: date,
    end: date,
    commission: Decimal,
    project_cost: Decimal | None,
    accident_record: str | None,
    hazard_rectification: str | None,
) -> tuple[rules.Rating, dict[str, Any]]:
    minimum = rules.check_minimum_limit(profile, per_person_limit, start)
    choices = rules.factor_choices(profile, _facts(enterprise), enterprise.standardization_grade, accident_record, hazard_rectification)
    rating = rules.rate(
        profile,
        rules.RatingInput(
            industry=Industry(enterprise.industry),
            per_person_limit=per_person_limit,
            headcount=headcount,
            period_start=start,
            period_end=end,
            factor_choices=choices,
            project_cost=project_cost,
        ),
    )
    cap = rules.check_commission(profile, rating.premium, commission, enterprise.must_insure)
    breakdown = rating.breakdown | {
        "minimum_limit": minimum,
        "per_person_limit": f"{per_person_limit:.2f}",
        "commission": f"{commission:.2f}",
        "commission_cap_ratio": str(profile.commission.cap_ratio),
        "max_commission": f"{cap:.2f}",
        "commission_cap_applies": enterprise.must_insure,
        "sub_limits": rules.sub_limits(profile, per_person_limit, headcount),
    }
    return rating, breakdown


async def create_quote(session: AsyncSession, principal: Principal, data: QuoteIn, now: datetime, valid_days: int) -> Quote:
    enterprise = await get_enterprise(session, data.credit_code)
    roster = await _roster(session, enterprise.credit_code)
    if not roster:
        raise DomainError(
            "quote.roster_missing", "请先报送从业人员名册", "Submit the enterprise's roster before asking for a quote", field="credit_code"
        )
    profile = _profile(enterprise, data.period_start)
    rules.check_minimum_limit(profile, data.per_person_limit, data.period_start)
    if roster[0].insured_amount != data.per_person_limit:
        raise DomainError(
            "roster.uniform_insured_amount",
            f"名册保险金额 {roster[0].insured_amount} 与所询每人限额 {data.per_person_limit} 不一致",
            f"The roster insures everyone for {roster[0].insured_amount}, not the {data.per_person_limit} quoted",
            field="per_person_limit",
        )
    end = data.period_end or profile.policy_term.latest_end(data.period_start)
    rating, breakdown = _rate(
        profile,
        enterprise,
        per_person_limit=data.per_person_limit,
        headcount=len(roster),
        start=data.period_start,
        end=end,
        commission=data.commission,
        project_cost=data.project_cost,
        accident_record=None,
        hazard_rectification=await _hazard_option(session, enterprise.credit_code),
    )
    quote = Quote(
        quote_id=f"Q{uuid.uuid4().hex[:20].upper()}",
        insurer=principal.tenant,
        credit_code=enterprise.credit_code,
        jurisdiction=enterprise.jurisdiction,
        profile_version=profile.version,
        period_start=data.period_start,
        period_end=end,
        per_person_limit=data.per_person_limit,
        headcount=len(roster),
        premium=rating.premium,
        commission=data.commission,
        breakdown=breakdown,
        insured_people=[{"resident_id": m.resident_id, "name": m.name, "employment_type": m.employment_type} for m in roster],
        status="OPEN",
        created_at=now,
        valid_until=now + timedelta(days=valid_days),
    )
    session.add(quote)
    return quote


def _not_found(what: str) -> NotFound:
    zh = {"quote": "未找到该报价", "policy": "未找到该保单"}[what]
    return NotFound(f"{what}.not_found", zh, f"No {what} with this number", field=f"{what}_no" if what == "policy" else "quote_id")


async def get_quote(session: AsyncSession, principal: Principal, quote_id: str) -> Quote:
    quote = await session.get(Quote, quote_id)
    if quote is None or (principal.role == Role.INSURER and quote.insurer != principal.tenant):
        raise _not_found("quote")
    return quote


# --- policies ------------------------------------------------------------------------------


def _policy_event(cls, policy: Policy, enterprise: Enterprise, people: list[dict[str, str]], **extra) -> PolicyIssued:
    return cls(
        policy_no=policy.policy_no,
        insurer=policy.insurer,
        credit_code=policy.credit_code,
        enterprise_name=enterprise.name,
        industry=Industry(enterprise.industry),
        district=enterprise.district,
        jurisdiction=policy.jurisdiction,
        profile_version=policy.profile_version,
        must_insure=policy.must_insure,
        period_start=policy.period_start,
        period_end=policy.period_end,
        per_person_limit=policy.per_person_limit,
        sub_limits=PolicySubLimits(**policy.sub_limits),
        headcount=policy.headcount,
        insured_people=[InsuredPerson(**p) for p in people],
        premium=policy.written_premium,
        commission=policy.commission,
        **extra,
    )


def _new_policy(
    *, insurer: str, enterprise: Enterprise, profile_version: str, start: date, end: date, limit: Decimal, people: list[dict[str, str]],
    premium: Decimal, commission: Decimal, breakdown: dict[str, Any], now: datetime, quote_id: str | None = None, previous: str | None = None,
) -> tuple[Policy, list[PolicyInsured]]:
    policy = Policy(
        policy_no=f"P{start:%Y}{uuid.uuid4().hex[:16].upper()}",
        quote_id=quote_id,
        previous_policy_no=previous,
        insurer=insurer,
        credit_code=enterprise.credit_code,
        jurisdiction=enterprise.jurisdiction,
        profile_version=profile_version,
        must_insure=enterprise.must_insure,
        rating_basis=breakdown["basis"],
        period_start=start,
        period_end=end,
        per_person_limit=limit,
        headcount=len(people),
        issue_headcount=len(people),
        issue_premium=premium,
        written_premium=premium,
        collected_premium=Decimal("0.00"),
        commission=commission,
        sub_limits=breakdown["sub_limits"],
        breakdown=breakdown,
        status="IN_FORCE",
        issued_at=now,
        endorsement_count=0,
        receipt_count=0,
    )
    insureds = [PolicyInsured(policy_no=policy.policy_no, covered_from=start, **p) for p in people]
    return policy, insureds


async def issue_policy(session: AsyncSession, outbox: Outbox, principal: Principal, quote_id: str, now: datetime) -> Policy:
    """Write a policy from an open, unexpired quote of the same insurer 承保出单."""
    quote = await get_quote(session, principal, quote_id)
    if quote.status != "OPEN":
        raise Conflict("quote.already_used", "该报价已出单", "A policy was already issued from this quote", field="quote_id")
    if _aware(quote.valid_until) < now:
        raise DomainError("quote.expired", "报价已过有效期，请重新询价", "The quote has expired; ask for a new one", field="quote_id")
    enterprise = await get_enterprise(session, quote.credit_code)
    quote.status = "USED"
    policy, insureds = _new_policy(
        insurer=quote.insurer, enterprise=enterprise, profile_version=quote.profile_version, start=quote.period_start, end=quote.period_end,
        limit=quote.per_person_limit, people=quote.insured_people, premium=quote.premium, commission=quote.commission,
        breakdown=quote.breakdown, now=now, quote_id=quote.quote_id,
    )
    session.add(policy)
    session.add_all(insureds)
    await _publish(session, outbox, _policy_event(PolicyIssued, policy, enterprise, quote.insured_people), policy.credit_code, f"policies/{policy.policy_no}", now)
    return policy


async def get_policy(session: AsyncSession, principal: Principal, policy_no: str, *, for_update: bool = False) -> Policy:
    query = select(Policy).where(Policy.policy_no == policy_no)
    if for_update:
        query = query.with_for_update()
    policy = (await session.execute(query)).scalar_one_or_none()
    if policy is None or (principal.role == Role.INSURER and policy.insurer != principal.tenant):
        raise _not_found("policy")
    return policy


async def list_policies(
    session: AsyncSession, principal: Principal, *, credit_code: str | None, limit: int, cursor: str | None
) -> tuple[list[Policy], str | None]:
    query = select(Policy).order_by(Policy.policy_no).limit(limit + 1)
    if principal.role == Role.INSURER:
        query = query.where(Policy.insurer == principal.tenant)
    if credit_code:
        query = query.where(Policy.credit_code == credit_code.upper())
    if cursor:
        query = query.where(Policy.policy_no > _decode_cursor(cursor, None))
    rows = list((await session.execute(query)).scalars())
    next_cursor = _encode_cursor(rows[limit - 1].policy_no) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _in_force(policy: Policy) -> None:
    if policy.status != "IN_FORCE":
        raise Conflict("policy.not_in_force", "保单已退保，不能再变更", "The policy was cancelled and can no longer change", field="policy_no")


async def _active_insureds(session: AsyncSession, policy_no: str) -> dict[str, PolicyInsured]:
    rows = (await session.execute(select(PolicyInsured).where(PolicyInsured.policy_no == policy_no))).scalars()
    return {r.resident_id: r for r in rows}


async def endorse(session: AsyncSession, outbox: Outbox, principal: Principal, policy_no: str, data: EndorsementIn, now: datetime) -> dict[str, Any]:
    """Add or remove insured people with pro-rata premium 批改."""
    policy = await get_policy(session, principal, policy_no, for_update=True)
    _in_force(policy)
    if not data.add and not data.remove:
        raise DomainError("endorsement.empty", "批改应至少增加或减少一人", "An endorsement adds or removes at least one person", field="add")
    for index, person in enumerate(data.add):
        if person.insured_amount != policy.per_person_limit:
            raise DomainError(
                "roster.uniform_insured_amount",
                f"新增人员保险金额 {person.insured_amount} 应与保单每人限额 {policy.per_person_limit} 相同",
                f"An added person is insured for {person.insured_amount}, not the policy's one amount {policy.per_person_limit}",
                field=f"add.{index}.insured_amount",
            )
    insureds = await _active_insureds(session, policy.policy_no)
    active = {k for k, v in insureds.items() if v.removed_from is None}
    for index, person in enumerate(data.add):
        if person.resident_id in active or [p.resident_id for p in data.add].count(person.resident_id) > 1:
            raise DomainError("endorsement.already_insured", "该人员已在保", "This person is already insured", field=f"add.{index}.resident_id")
    for index, resident_id in enumerate(data.remove):
        if resident_id.upper() not in active:
            raise DomainError("endorsement.not_insured", "该人员不在保", "This person is not insured on the policy", field=f"remove.{index}")
    headcount = policy.headcount + len(data.add) - len(data.remove)
    if headcount < 1:
        raise DomainError("endorsement.no_one_left", "批改后保单应至少保留一人", "A policy keeps at least one insured person", field="remove")
    net = len(data.add) - len(data.remove)
    if policy.rating_basis == "PER_PERSON":
        change, detail = rules.endorsement_premium(
            policy.issue_premium, policy.issue_headcount, policy.period_start, policy.period_end, data.effective_date, net
        )
    else:  # rated on project cost: the premium does not follow the headcount
        rules.endorsement_premium(Decimal(0), 1, policy.period_start, policy.period_end, data.effective_date, 0)
        change, detail = Decimal("0.00"), {"formula": "rated on project cost 按工程造价计费: headcount does not change the premium"}
    for person in data.add:
        row = insureds.get(person.resident_id)
        if row is None:
            session.add(PolicyInsured(
                policy_no=policy.policy_no, resident_id=person.resident_id, name=person.name,
                employment_type=person.employment_type.value, covered_from=data.effective_date,
            ))
        else:
            row.name, row.employment_type, row.covered_from, row.removed_from = person.name, person.employment_type.value, data.effective_date, None
    for resident_id in data.remove:
        insureds[resident_id.upper()].removed_from = data.effective_date
    profile = get_profile(policy.jurisdiction, policy.period_start)
    policy.headcount = headcount
    policy.written_premium = policy.written_premium + change
    policy.sub_limits = rules.sub_limits(profile, policy.per_person_limit, headcount)
    policy.endorsement_count += 1
    endorsement_no = f"{policy.policy_no}-E{policy.endorsement_count:03d}"
    added = [{"resident_id": p.resident_id, "name": p.name, "employment_type": p.employment_type.value} for p in data.add]
    removed = [r.upper() for r in data.remove]
    session.add(Endorsement(
        endorsement_no=endorsement_no, policy_no=policy.policy_no, effective_date=data.effective_date, added=added, removed=removed,
        premium_change=change, breakdown=detail, created_at=now,
    ))
    await _publish(
        session, outbox,
        PolicyEndorsed(
            policy_no=policy.policy_no, endorsement_no=endorsement_no, insurer=policy.insurer, credit_code=policy.credit_code,
            effective_date=data.effective_date, added=[InsuredPerson(**a) for a in added], removed=removed, headcount=headcount,
            sub_limits=PolicySubLimits(**policy.sub_limits), premium_change=change, written_premium=policy.written_premium,
        ),
        policy.credit_code, f"policies/{policy.policy_no}", now,
    )
    return {
        "endorsement_no": endorsement_no, "policy_no": policy.policy_no, "effective_date": data.effective_date, "added": len(added),
        "removed": len(removed), "headcount": headcount, "premium_change": change, "written_premium": policy.written_premium, "breakdown": detail,
    }


async def record_premium(
    session: AsyncSession, outbox: Outbox, principal: Principal, policy_no: str, data: PremiumReceiptIn, now: datetime
) -> dict[str, Any]:
    """Money received or paid back: collected premium 实收保费 stays within [0, written premium]."""
    policy = await get_policy(session, principal, policy_no, for_update=True)
    policy.collected_premium = rules.check_premium_receipt(policy.written_premium, policy.collected_premium, data.amount, data.kind.value)
    policy.receipt_count += 1
    receipt_no = f"{policy.policy_no}-{'R' if data.kind.value == 'RECEIPT' else 'F'}{policy.receipt_count:03d}"
    session.add(PremiumReceipt(
        receipt_no=receipt_no, policy_no=policy.policy_no, kind=data.kind.value, amount=data.amount, received_on=data.received_on,
        reference=data.reference, created_at=now,
    ))
    event_cls = PremiumCollected if data.kind.value == "RECEIPT" else PremiumRefunded
    await _publish(
        session, outbox,
        event_cls(
            policy_no=policy.policy_no, receipt_no=receipt_no, insurer=policy.insurer, credit_code=policy.credit_code,
            jurisdiction=policy.jurisdiction, amount=data.amount, received_on=data.received_on,
            collected_premium=policy.collected_premium, written_premium=policy.written_premium,
        ),
        policy.credit_code, f"policies/{policy.policy_no}", now,
    )
    return {
        "receipt_no": receipt_no, "policy_no": policy.policy_no, "kind": data.kind, "amount": data.amount, "received_on": data.received_on,
        "collected_premium": policy.collected_premium, "written_premium": policy.written_premium,
    }


async def cancel(session: AsyncSession, outbox: Outbox, principal: Principal, policy_no: str, data: CancellationIn, now: datetime) -> dict[str, Any]:
    """Cancel 退保 with a pro-rata refund; a mandatory unit only when closed by law or stopped (Art. 16)."""
    policy = await get_policy(session, principal, policy_no, for_update=True)
    _in_force(policy)
    rules.check_cancellation_reason(data.reason.value, policy.must_insure)
    earned, refund, detail = rules.cancellation_refund(policy.written_premium, policy.period_start, policy.period_end, data.effective_date)
    policy.status = "CANCELLED"
    policy.cancellation_reason = data.reason.value
    policy.cancelled_from = data.effective_date
    policy.written_premium = earned
    await _publish(
        session, outbox,
        PolicyCancelled(
            policy_no=policy.policy_no, insurer=policy.insurer, credit_code=policy.credit_code, reason=data.reason.value,
            effective_date=data.effective_date, earned_premium=earned, premium_refund=refund, written_premium=earned,
        ),
        policy.credit_code, f"policies/{policy.policy_no}", now,
    )
    return {
        "policy_no": policy.policy_no, "reason": data.reason, "effective_date": data.effective_date, "earned_premium": earned,
        "premium_refund": refund, "written_premium": earned, "collected_premium": policy.collected_premium, "breakdown": detail,
    }


async def renew(session: AsyncSession, outbox: Outbox, principal: Principal, policy_no: str, data: RenewalIn, now: datetime) -> Policy:
    """Renew 续保: re-rate with the experience of the previous period (accidents, hazard rectification)."""
    previous = await get_policy(session, principal, policy_no, for_update=True)
    _in_force(previous)
    if await session.scalar(select(Policy.policy_no).where(Policy.previous_policy_no == previous.policy_no)) is not None:
        raise Conflict("renewal.already_renewed", "该保单已续保", "This policy was already renewed", field="policy_no")
    enterprise = await get_enterprise(session, previous.credit_code)
    start = data.period_start or previous.period_end + timedelta(days=1)
    rules.check_renewal_start(_profile(enterprise, start), previous.period_end, start, enterprise.must_insure)
    profile = _profile(enterprise, start)
    end = data.period_end or profile.policy_term.latest_end(start)
    limit = data.per_person_limit or previous.per_person_limit
    people = [
        {"resident_id": p.resident_id, "name": p.name, "employment_type": p.employment_type}
        for p in sorted((await _active_insureds(session, previous.policy_no)).values(), key=lambda p: p.resident_id)
        if p.removed_from is None
    ]
    accident = await _accident_option(session, enterprise.credit_code, previous.period_start, previous.period_end)
    since = datetime.combine(previous.period_start, datetime.min.time(), tzinfo=UTC) - timedelta(hours=8)
    hazard = await _hazard_option(session, enterprise.credit_code, since)
    rating, breakdown = _rate(
        profile, enterprise, per_person_limit=limit, headcount=len(people), start=start, end=end, commission=data.commission,
        project_cost=Decimal(previous.breakdown["project_cost"]) if previous.rating_basis == "PROJECT_COST" else None,
        accident_record=accident, hazard_rectification=hazard,
    )
    breakdown["experience"] = {
        "previous_policy_no": previous.policy_no,
        "accident_record": accident,
        "hazard_rectification": hazard or f"{enterprise.hazard_rectification} (declared; no hazard reported)",
    }
    policy, insureds = _new_policy(
        insurer=previous.insurer, enterprise=enterprise, profile_version=profile.version, start=start, end=end, limit=limit, people=people,
        premium=rating.premium, commission=data.commission, breakdown=breakdown, now=now, previous=previous.policy_no,
    )
    session.add(policy)
    session.add_all(insureds)
    await _publish(
        session, outbox, _policy_event(PolicyRenewed, policy, enterprise, people, previous_policy_no=previous.policy_no),
        policy.credit_code, f"policies/{policy.policy_no}", now,
    )
    return policy


async def verify(session: AsyncSession, principal: Principal, credit_code: str, on: date) -> dict[str, Any]:
    """核验: is the enterprise insured on ``on``? A bureau sees only its own industries."""
    enterprise = await session.get(Enterprise, credit_code.upper())
    if principal.role == Role.BUREAU and (enterprise is None or Industry(enterprise.industry) not in principal.industries):
        raise NotFound("enterprise.not_found", "未找到该单位", "No enterprise with this credit code", field="credit_code")
    query = select(Policy).where(
        Policy.credit_code == credit_code.upper(),
        Policy.period_start <= on,
        Policy.period_end >= on,
        or_(Policy.status == "IN_FORCE", Policy.cancelled_from > on),
    ).order_by(Policy.period_start)
    policies = list((await session.execute(query)).scalars())
    return {
        "credit_code": credit_code.upper(),
        "on": on,
        "insured": bool(policies),
        "must_insure": enterprise.must_insure if enterprise else None,
        "policies": [
            {"policy_no": p.policy_no, "insurer": p.insurer, "period_start": p.period_start, "period_end": p.period_end} for p in policies
        ],
    }
