"""Claim use cases 理赔业务: each one transaction, the state change and its outbox event together.

Functions take the session first and never commit (the request's session dependency does); the
fast-track watcher, which runs outside a request, opens and commits its own transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.events.claims import (
    AccidentReported,
    ClaimAssessed,
    ClaimClosed,
    ClaimPrepaid,
    ClaimSettled,
    FastTrackOpened,
    FastTrackOverdue,
)
from contracts.profiles import get_profile
from contracts.profiles.schema import JurisdictionProfile
from kernel.auth import Principal
from kernel.errors import Conflict, DomainError, NotFound
from kernel.outbox import Outbox
from services.claims import rules
from services.claims.models import Claim, ClaimCost, Payment, PolicyCover, Victim
from services.claims.schemas import (
    CasualtyRevision,
    ClaimOut,
    ClaimPage,
    ClaimReport,
    CostIn,
    CostOut,
    FastTrackOut,
    PaymentIn,
    PaymentOut,
    VictimIn,
    VictimOut,
)

ROAD_TRAFFIC_OR_FIRE = {"ROAD_TRAFFIC", "FIRE"}


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16].upper()}"


def _profile(claim_or_cover_jurisdiction: str, at: datetime) -> JurisdictionProfile:
    return get_profile(claim_or_cover_jurisdiction, at.astimezone(rules.SHANGHAI).date())


# --- views -----------------------------------------------------------------------------------


def claim_view(claim: Claim, now: datetime) -> ClaimOut:
    profile = _profile(claim.jurisdiction, utc(claim.occurred_at))
    clock = rules.fast_track_clock(profile.fast_track, claim.fast_track, utc(claim.reported_at), utc(claim.fast_track_started_at), now)
    revision = profile.casualty_revision.deadline(
        utc(claim.occurred_at).astimezone(rules.SHANGHAI).date(), claim.accident_type in ROAD_TRAFFIC_OR_FIRE
    )
    return ClaimOut(
        claim_id=claim.claim_id, policy_no=claim.policy_no, insurer=claim.insurer, credit_code=claim.credit_code,
        occurred_at=utc(claim.occurred_at), reported_at=utc(claim.reported_at), place=claim.place,
        accident_type=claim.accident_type, deaths=claim.deaths, serious_injuries=claim.serious_injuries,
        minor_injuries=claim.minor_injuries, direct_loss=claim.direct_loss, major_social_impact=claim.major_social_impact,
        description=claim.description, grade=claim.grade, status=claim.status, revision_deadline=revision.isoformat(),
        fast_track=FastTrackOut(
            opened=clock.opened, deadline=clock.deadline, started_at=clock.started_at, met=clock.met, overdue=clock.overdue, now=now
        ),
        assessed_total=claim.assessed_total, paid_total=claim.paid_total,
    )


def _victim_view(v: Victim) -> VictimOut:
    return VictimOut(
        victim_id=v.victim_id, resident_id=v.resident_id, name=v.name, relation=v.relation, outcome=v.outcome,
        disability_grade=v.disability_grade, medical_costs=v.medical_costs, death_disability_amount=v.death_disability_amount,
        medical_amount=v.medical_amount, payable=v.payable, limits_exhausted=v.limits_exhausted, steps=list(v.steps),
    )


def _payment_view(p: Payment) -> PaymentOut:
    return PaymentOut(payment_id=p.payment_id, kind=p.kind, amount=p.amount, paid_at=utc(p.paid_at), note=p.note)


# --- reading -----------------------------------------------------------------------------------


async def _own_claim(session: AsyncSession, principal: Principal, claim_id: str, *, for_update: bool = False) -> Claim:
    query = select(Claim).where(Claim.claim_id == claim_id)
    if for_update:
        query = query.with_for_update()
    claim = (await session.execute(query)).scalar_one_or_none()
    # Another insurer's claim is answered as absent: its existence is not ours to reveal.
    if claim is None or (principal.role == "insurer" and claim.insurer != principal.tenant):
        raise NotFound("claim.not_found", "赔案不存在", f"No claim {claim_id}", field="claim_id")
    return claim


async def get_claim(session: AsyncSession, principal: Principal, claim_id: str, now: datetime) -> ClaimOut:
    return claim_view(await _own_claim(session, principal, claim_id), now)


async def list_claims(
    session: AsyncSession, principal: Principal, now: datetime, *, credit_code: str | None, status: str | None, limit: int, cursor: str | None
) -> ClaimPage:
    """An insurer sees the claims under its own policies; regulators see all. Keyset-paged by claim number."""
    query = select(Claim).order_by(Claim.claim_id).limit(limit + 1)
    if principal.role == "insurer":
        query = query.where(Claim.insurer == principal.tenant)
    if credit_code:
        query = query.where(Claim.credit_code == credit_code.upper())
    if status:
        query = query.where(Claim.status == status)
    if cursor:
        query = query.where(Claim.claim_id > cursor)
    rows = list((await session.execute(query)).scalars())
    next_cursor = rows[limit - 1].claim_id if len(rows) > limit else None
    return ClaimPage(items=[claim_view(c, now) for c in rows[:limit]], next_cursor=next_cursor)


async def list_victims(session: AsyncSession, principal: Principal, claim_id: str) -> list[VictimOut]:
    await _own_claim(session, principal, claim_id)
    rows = (await session.execute(select(Victim).where(Victim.claim_id == claim_id).order_by(Victim.victim_id))).scalars()
    return [_victim_view(v) for v in rows]


async def list_payments(session: AsyncSession, principal: Principal, claim_id: str) -> list[PaymentOut]:
    await _own_claim(session, principal, claim_id)
    rows = (await session.execute(select(Payment).where(Payment.claim_id == claim_id).order_by(Payment.paid_at, Payment.kind, Payment.payment_id))).scalars()
    return [_payment_view(p) for p in rows]


# --- reporting -------------------------------------------------------------------------------


async def _cover_for(session: AsyncSession, body: ClaimReport, insurer: str) -> PolicyCover:
    query = select(PolicyCover)
    query = query.where(PolicyCover.policy_no == body.policy_no) if body.policy_no else query.where(PolicyCover.credit_code == body.credit_code)
    covers = [
        c for c in (await session.execute(query)).scalars()
        if rules.in_force(c.period_start, c.period_end, c.cancelled_from, body.occurred_at)
        and (body.credit_code is None or c.credit_code == body.credit_code)
        and c.insurer == insurer  # another insurer's policy is not ours to claim under, nor to reveal
    ]
    if not covers:
        raise DomainError(
            "claim.no_policy_in_force",
            "事故发生时该单位无有效保单（未起保、已到期或已退保）",
            "No policy was in force for this enterprise at the accident time (not started, lapsed or cancelled)",
            field="policy_no" if body.policy_no else "credit_code",
        )
    return covers[0]


def _accident_event(claim: Claim) -> AccidentReported:
    return AccidentReported(
        accident_id=claim.claim_id, credit_code=claim.credit_code, policy_no=claim.policy_no, occurred_at=utc(claim.occurred_at),
        grade=claim.grade, deaths=claim.deaths, serious_injuries=claim.serious_injuries, minor_injuries=claim.minor_injuries,
        direct_loss=claim.direct_loss, major_social_impact=claim.major_social_impact, insurer=claim.insurer,
        reported_at=utc(claim.reported_at),
    )


async def _maybe_open_fast_track(session: AsyncSession, outbox: Outbox, claim: Claim, profile: JurisdictionProfile) -> None:
    if claim.fast_track or not profile.fast_track.applies(claim.deaths, claim.major_social_impact):
        return
    claim.fast_track = True
    claim.fast_track_deadline = profile.fast_track.deadline(utc(claim.reported_at))
    reason = "deaths" if claim.deaths >= profile.fast_track.death_threshold else "major_social_impact"
    await outbox.enqueue(
        session,
        FastTrackOpened(
            claim_id=claim.claim_id, credit_code=claim.credit_code, policy_no=claim.policy_no, insurer=claim.insurer,
            reported_at=utc(claim.reported_at), deadline=claim.fast_track_deadline, reason=reason,
        ),
        partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}",
    )


async def report(session: AsyncSession, outbox: Outbox, principal: Principal, body: ClaimReport, now: datetime) -> ClaimOut:
    """报案: grade the accident, open the fast-track when it applies; refused without cover in force."""
    if body.occurred_at > now:
        raise DomainError("claim.accident_in_future", "事故时间不能晚于报案时间", "The accident cannot be later than the report", field="occurred_at")
    cover = await _cover_for(session, body, principal.tenant)
    profile = _profile(cover.jurisdiction, body.occurred_at)
    claim = Claim(
        claim_id=_id("CLM"), policy_no=cover.policy_no, insurer=cover.insurer, credit_code=cover.credit_code,
        jurisdiction=cover.jurisdiction, occurred_at=body.occurred_at.astimezone(UTC), reported_at=now, place=body.place,
        accident_type=body.accident_type, deaths=body.deaths, serious_injuries=body.serious_injuries,
        minor_injuries=body.minor_injuries, direct_loss=body.direct_loss, major_social_impact=body.major_social_impact,
        description=body.description, grade=profile.accident_grade(body.deaths, body.serious_injuries, body.direct_loss).value,
        status="OPEN", fast_track=False, overdue_raised=False, assessed_total=Decimal(0), paid_total=Decimal(0),
    )
    session.add(claim)
    await session.flush()
    await outbox.enqueue(session, _accident_event(claim), partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}")
    await _maybe_open_fast_track(session, outbox, claim, profile)
    return claim_view(claim, now)


async def revise(session: AsyncSession, outbox: Outbox, principal: Principal, claim_id: str, body: CasualtyRevision, now: datetime) -> ClaimOut:
    """伤亡人数补报: within the revision window (30 days; road traffic and fire 7), grade recomputed."""
    claim = await _own_claim(session, principal, claim_id, for_update=True)
    profile = _profile(claim.jurisdiction, utc(claim.occurred_at))
    last_day = profile.casualty_revision.deadline(
        utc(claim.occurred_at).astimezone(rules.SHANGHAI).date(), claim.accident_type in ROAD_TRAFFIC_OR_FIRE
    )
    if now.astimezone(rules.SHANGHAI).date() > last_day:
        raise DomainError(
            "claim.revision_window_closed", f"伤亡人数补报期已于 {last_day} 截止", f"Casualty figures could change until {last_day}",
            field="deaths",
        )
    claim.deaths, claim.serious_injuries, claim.minor_injuries, claim.direct_loss = (
        body.deaths, body.serious_injuries, body.minor_injuries, body.direct_loss,
    )
    claim.grade = profile.accident_grade(body.deaths, body.serious_injuries, body.direct_loss).value
    await outbox.enqueue(session, _accident_event(claim), partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}")
    await _maybe_open_fast_track(session, outbox, claim, profile)
    return claim_view(claim, now)


# --- assessment ------------------------------------------------------------------------------


def _require_open(claim: Claim) -> None:
    if claim.status != "OPEN":
        raise Conflict("claim.not_open", f"赔案状态为 {claim.status}，不可操作", f"The claim is {claim.status}", field="status")


async def _cover(session: AsyncSession, policy_no: str) -> PolicyCover:
    return (await session.execute(select(PolicyCover).where(PolicyCover.policy_no == policy_no).with_for_update())).scalar_one()


async def add_victim(session: AsyncSession, outbox: Outbox, principal: Principal, claim_id: str, body: VictimIn) -> VictimOut:
    """理算: one victim's payable amount under the per-person, medical, per-accident and aggregate limits."""
    claim = await _own_claim(session, principal, claim_id, for_update=True)
    _require_open(claim)
    cover = await _cover(session, claim.policy_no)
    already = (
        await session.execute(select(Victim.victim_id).where(Victim.claim_id == claim.claim_id, Victim.resident_id == body.resident_id))
    ).first()
    if already is not None:
        raise Conflict(
            "victim.already_recorded", "该人员已在本赔案中登记", "This person is already recorded on the claim", field="resident_id"
        )
    if body.relation == "employee" and body.resident_id not in set(cover.insured_ids):
        raise DomainError(
            "victim.uninsured_employee", "该从业人员不在被保险人员名单中，不属于保险责任",
            "This employee is not on the policy's insured roster (uninsured employee)", field="resident_id",
        )
    profile = _profile(claim.jurisdiction, utc(claim.occurred_at))
    if body.outcome == "disability" and body.disability_grade not in profile.limits.disability_grade_ratios:
        raise DomainError(
            "victim.disability_grade_out_of_range", "伤残等级须为 1 至 10 级", "The disability grade must be 1 to 10",
            field="disability_grade",
        )
    aggregate_left = cover.aggregate_limit - cover.used_aggregate
    remaining = rules.Remaining(
        aggregate=aggregate_left, per_accident=cover.per_accident_limit - claim.assessed_total, third_party=aggregate_left,
    )
    assessment = rules.assess_victim(
        profile.limits, per_person_limit=cover.per_person_limit, medical_limit=cover.medical_limit, outcome=body.outcome,
        disability_grade=body.disability_grade, medical_costs=body.medical_costs, remaining=remaining,
        third_party=body.relation == "third_party",
    )
    if body.relation == "third_party":
        assessment.steps.insert(0, "third party 第三者: covered within the policy's per-person and aggregate limits")
    victim = Victim(
        victim_id=_id("VIC"), claim_id=claim.claim_id, resident_id=body.resident_id, name=body.name, relation=body.relation,
        outcome=body.outcome, disability_grade=body.disability_grade, medical_costs=body.medical_costs,
        death_disability_amount=assessment.death_disability, medical_amount=assessment.medical, payable=assessment.payable,
        limits_exhausted=assessment.limits_exhausted, steps=assessment.steps,
    )
    session.add(victim)
    claim.assessed_total = claim.assessed_total + assessment.payable
    cover.used_aggregate = cover.used_aggregate + assessment.payable
    await session.flush()
    await outbox.enqueue(
        session,
        ClaimAssessed(
            claim_id=claim.claim_id, credit_code=claim.credit_code, policy_no=claim.policy_no, insurer=claim.insurer,
            victim_id=victim.victim_id, relation=body.relation, outcome=body.outcome, payable=assessment.payable,
            assessed_total=claim.assessed_total, limits_exhausted=assessment.limits_exhausted,
        ),
        partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}",
    )
    return _victim_view(victim)


async def add_cost(session: AsyncSession, outbox: Outbox, principal: Principal, claim_id: str, body: CostIn) -> CostOut:
    """施救费用 / 法律费用 within what is left of their sub-limit (and of the aggregate)."""
    claim = await _own_claim(session, principal, claim_id, for_update=True)
    _require_open(claim)
    cover = await _cover(session, claim.policy_no)
    used = cover.used_rescue if body.kind == "rescue" else cover.used_legal
    limit = cover.rescue_limit if body.kind == "rescue" else cover.legal_limit
    payable, steps = rules.capped_cost(body.kind, body.amount, limit - used)
    aggregate_left = cover.aggregate_limit - cover.used_aggregate
    if payable > aggregate_left:
        payable = max(aggregate_left, Decimal(0))
        steps.append(f"capped by aggregate left 累计剩余限额 {aggregate_left} = {payable} (limits exhausted 限额已用尽)")
    if body.kind == "rescue":
        cover.used_rescue = cover.used_rescue + payable
    else:
        cover.used_legal = cover.used_legal + payable
    cover.used_aggregate = cover.used_aggregate + payable
    claim.assessed_total = claim.assessed_total + payable
    cost = ClaimCost(cost_id=_id("CST"), claim_id=claim.claim_id, kind=body.kind, amount=body.amount, payable=payable, steps=steps)
    session.add(cost)
    await session.flush()
    await outbox.enqueue(
        session,
        ClaimAssessed(
            claim_id=claim.claim_id, credit_code=claim.credit_code, policy_no=claim.policy_no, insurer=claim.insurer,
            victim_id=cost.cost_id, relation=body.kind, outcome=body.kind, payable=payable, assessed_total=claim.assessed_total,
            limits_exhausted=payable < body.amount,
        ),
        partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}",
    )
    return CostOut(cost_id=cost.cost_id, kind=cost.kind, amount=cost.amount, payable=payable, steps=steps)


# --- payments ----------------------------------------------------------------------------------


async def prepay(session: AsyncSession, outbox: Outbox, principal: Principal, claim_id: str, body: PaymentIn, now: datetime) -> PaymentOut:
    """预赔: pay part of what is already determined; the first one starts the fast-track channel."""
    claim = await _own_claim(session, principal, claim_id, for_update=True)
    _require_open(claim)
    unpaid = claim.assessed_total - claim.paid_total
    if body.amount > unpaid:
        raise DomainError(
            "prepayment.exceeds_assessed", f"预付金额超过已核定未支付金额 {unpaid}",
            f"A pre-payment cannot exceed the assessed, unpaid amount {unpaid}", field="amount",
        )
    payment = Payment(payment_id=_id("PAY"), claim_id=claim.claim_id, kind="PREPAYMENT", amount=body.amount, paid_at=now, note=body.note)
    session.add(payment)
    claim.paid_total = claim.paid_total + body.amount
    met = None
    if claim.fast_track:
        if claim.fast_track_started_at is None:
            claim.fast_track_started_at = now
        profile = _profile(claim.jurisdiction, utc(claim.occurred_at))
        met = profile.fast_track.on_time(utc(claim.reported_at), utc(claim.fast_track_started_at))
    await session.flush()
    await outbox.enqueue(
        session,
        ClaimPrepaid(
            claim_id=claim.claim_id, credit_code=claim.credit_code, insurer=claim.insurer, payment_id=payment.payment_id,
            amount=body.amount, paid_at=now, paid_total=claim.paid_total, fast_track_met=met,
        ),
        partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}",
    )
    return _payment_view(payment)


async def settle(session: AsyncSession, outbox: Outbox, principal: Principal, claim_id: str, now: datetime) -> ClaimOut:
    """结案赔付: pay the balance of the assessed amount; the claim is then SETTLED."""
    claim = await _own_claim(session, principal, claim_id, for_update=True)
    _require_open(claim)
    prepaid = claim.paid_total
    balance = claim.assessed_total - prepaid
    if balance > 0:
        session.add(Payment(payment_id=_id("PAY"), claim_id=claim.claim_id, kind="SETTLEMENT", amount=balance, paid_at=now, note=""))
        if claim.fast_track and claim.fast_track_started_at is None:
            claim.fast_track_started_at = now  # a quick payment starts the channel too
    claim.paid_total = claim.assessed_total
    claim.status = "SETTLED"
    await outbox.enqueue(
        session,
        ClaimSettled(
            claim_id=claim.claim_id, credit_code=claim.credit_code, insurer=claim.insurer, assessed_total=claim.assessed_total,
            prepaid_total=prepaid, final_payment=balance, settled_at=now,
        ),
        partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}",
    )
    return claim_view(claim, now)


async def close(session: AsyncSession, outbox: Outbox, principal: Principal, claim_id: str, reason: str, now: datetime) -> ClaimOut:
    claim = await _own_claim(session, principal, claim_id, for_update=True)
    if claim.status == "CLOSED":
        raise Conflict("claim.already_closed", "赔案已关闭", "The claim is already closed", field="status")
    claim.status = "CLOSED"
    await outbox.enqueue(
        session,
        ClaimClosed(claim_id=claim.claim_id, credit_code=claim.credit_code, insurer=claim.insurer, status="CLOSED", reason=reason, at=now),
        partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}",
    )
    return claim_view(claim, now)


async def reopen(session: AsyncSession, outbox: Outbox, principal: Principal, claim_id: str, reason: str, now: datetime) -> ClaimOut:
    claim = await _own_claim(session, principal, claim_id, for_update=True)
    if claim.status != "CLOSED":
        raise Conflict("claim.not_closed", "仅已关闭的赔案可重开", "Only a closed claim can be reopened", field="status")
    claim.status = "OPEN"
    await outbox.enqueue(
        session,
        ClaimClosed(
            claim_id=claim.claim_id, credit_code=claim.credit_code, insurer=claim.insurer, status="OPEN", reopened=True, reason=reason, at=now
        ),
        partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}",
    )
    return claim_view(claim, now)


# --- the fast-track watcher ----------------------------------------------------------------------


async def raise_overdue(sessionmaker: async_sessionmaker[AsyncSession], outbox: Outbox, now: datetime) -> int:
    """FastTrackOverdue once per claim: the flag and the event share one transaction, and the flag is
    set only if still unset, so two watchers (or a restart) never raise it twice."""
    raised = 0
    async with sessionmaker() as session:
        due = (
            await session.execute(
                select(Claim.claim_id).where(
                    Claim.fast_track.is_(True), Claim.overdue_raised.is_(False), Claim.fast_track_started_at.is_(None),
                    Claim.fast_track_deadline < now,
                )
            )
        ).scalars().all()
    for claim_id in due:
        async with sessionmaker() as session, session.begin():
            taken = await session.execute(
                update(Claim)
                .where(Claim.claim_id == claim_id, Claim.overdue_raised.is_(False), Claim.fast_track_started_at.is_(None))
                .values(overdue_raised=True)
            )
            if taken.rowcount != 1:
                continue
            claim = (await session.execute(select(Claim).where(Claim.claim_id == claim_id))).scalar_one()
            await outbox.enqueue(
                session,
                FastTrackOverdue(
                    claim_id=claim.claim_id, credit_code=claim.credit_code, policy_no=claim.policy_no, insurer=claim.insurer,
                    reported_at=utc(claim.reported_at), deadline=utc(claim.fast_track_deadline), detected_at=now,
                ),
                partition_key=claim.credit_code, subject=f"claims/{claim.claim_id}",
            )
            raised += 1
    return raised
