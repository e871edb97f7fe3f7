"""Prevention use cases 事故预防: each one transaction, the state change and its outbox event together.

Functions take the session first and never commit (the request's session dependency does); the
overdue watcher, which runs outside a request, opens and commits its own transaction.

Who is who: an insurer acts for itself (its tenant); a technical service institution
(``service_org``) acts for the insurer that filed it and only with institutions it registered.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import Role
from contracts.events.prevention import (
    FundCarriedOver,
    FundSpent,
    HazardFound,
    HazardStatus,
    HazardStatusChanged,
    InstitutionEvaluated,
    InstitutionExited,
    InstitutionFiled,
    InstitutionListedDishonest,
    InstitutionRegistered,
    ServiceRecorded,
)
from contracts.profiles import get_profile
from contracts.profiles.schema import JurisdictionProfile
from kernel.auth import Principal
from kernel.errors import Conflict, DomainError, Forbidden, NotFound
from kernel.outbox import Outbox
from services.prevention import rules
from services.prevention.models import (
    Evaluation,
    Filing,
    FundEntry,
    Hazard,
    HazardChange,
    Institution,
    PolicyCopy,
    ServicePlan,
    ServiceRecord,
)
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

REGULATORS = (Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR)


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16].upper()}"


def profile_for(jurisdiction: str, on: date) -> JurisdictionProfile:
    return get_profile(jurisdiction, on)


# --- institutions ----------------------------------------------------------------------------


async def _institution(session: AsyncSession, code: str) -> Institution:
    institution = await session.get(Institution, code.upper())
    if institution is None:
        raise NotFound("institution.not_found", f"技术服务机构 {code} 未登记", f"No technical service institution {code}", field="institution_code")
    return institution


async def _filers(session: AsyncSession, code: str) -> list[str]:
    return list((await session.execute(select(Filing.insurer).where(Filing.institution_code == code).order_by(Filing.insurer))).scalars())


def _meets(profile: JurisdictionProfile, institution: Institution) -> bool:
    return profile.service_institutions.meets_staff_minimum(institution.professional_staff)


async def institution_view(session: AsyncSession, institution: Institution, profile: JurisdictionProfile) -> InstitutionOut:
    return InstitutionOut(
        institution_code=institution.institution_code, name=institution.name, qualifications=institution.qualifications,
        professional_staff=institution.professional_staff, status=institution.status, dishonest=institution.dishonest,
        meets_requirements=_meets(profile, institution), min_professional_staff=profile.service_institutions.min_professional_staff,
        filed_by=await _filers(session, institution.institution_code), exit_reason=institution.exit_reason,
    )


async def register_institution(
    session: AsyncSession, outbox: Outbox, principal: Principal, body: InstitutionIn, profile: JurisdictionProfile, now: datetime
) -> InstitutionOut:
    if await session.get(Institution, body.institution_code) is not None:
        raise Conflict("institution.exists", "该技术服务机构已登记", "This institution is already registered", field="institution_code")
    institution = Institution(
        institution_code=body.institution_code, name=body.name, qualifications=body.qualifications,
        professional_staff=body.professional_staff, owner_tenant=principal.tenant, status="ACTIVE", dishonest=False, registered_at=now,
    )
    session.add(institution)
    await outbox.enqueue(
        session,
        InstitutionRegistered(
            institution_code=institution.institution_code, name=institution.name, qualifications=institution.qualifications,
            professional_staff=institution.professional_staff, jurisdiction=profile.jurisdiction,
            meets_requirements=_meets(profile, institution), min_professional_staff=profile.service_institutions.min_professional_staff,
        ),
        partition_key=institution.institution_code, subject=f"institutions/{institution.institution_code}",
    )
    return await institution_view(session, institution, profile)


async def list_institutions(
    session: AsyncSession, profile: JurisdictionProfile, *, limit: int, after: str | None
) -> InstitutionPage:
    query = select(Institution).order_by(Institution.institution_code).limit(limit + 1)
    if after:
        query = query.where(Institution.institution_code > after)
    rows = list((await session.execute(query)).scalars())
    page = rows[:limit]
    return InstitutionPage(
        items=[await institution_view(session, i, profile) for i in page],
        next_cursor=page[-1].institution_code if len(rows) > limit else None,
    )


def _entrustable(institution: Institution, profile: JurisdictionProfile) -> None:
    """An exited, dishonest or under-staffed institution cannot be entrusted."""
    if institution.dishonest:
        raise DomainError(
            "institution.dishonest", "该机构已列入失信名单，不得委托", "The institution is on the dishonesty list and may not be entrusted",
            field="institution_code", status=409,
        )
    if institution.status != "ACTIVE":
        raise DomainError(
            "institution.exited", "该机构已退出，不得委托", "The institution has exited and may not be entrusted", field="institution_code", status=409,
        )
    minimum = profile.service_institutions.min_professional_staff
    if not _meets(profile, institution):
        raise DomainError(
            "institution.staff_below_minimum",
            f"专业技术人员 {institution.professional_staff} 人，少于规定的 {minimum} 人",
            f"{institution.professional_staff} professional staff, below the required {minimum}",
            field="professional_staff",
        )


async def file_institution(
    session: AsyncSession, outbox: Outbox, principal: Principal, code: str, body: FilingIn, profile: JurisdictionProfile
) -> FilingOut:
    institution = await _institution(session, code)
    _entrustable(institution, profile)
    existing = (
        await session.execute(select(Filing).where(Filing.institution_code == institution.institution_code, Filing.insurer == principal.tenant))
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict("institution.already_filed", "该机构已由本公司备案", "This insurer already filed this institution", field="institution_code")
    filing = Filing(filing_id=_id("FIL"), institution_code=institution.institution_code, insurer=principal.tenant, filed_on=body.filed_on)
    session.add(filing)
    await outbox.enqueue(
        session, InstitutionFiled(institution_code=institution.institution_code, insurer=principal.tenant, filed_on=body.filed_on),
        partition_key=institution.institution_code, subject=f"institutions/{institution.institution_code}",
    )
    return FilingOut(filing_id=filing.filing_id, institution_code=filing.institution_code, insurer=filing.insurer, filed_on=filing.filed_on)


async def _filed_by(session: AsyncSession, code: str, insurer: str) -> bool:
    found = await session.execute(select(Filing.filing_id).where(Filing.institution_code == code, Filing.insurer == insurer))
    return found.first() is not None


async def evaluate_institution(
    session: AsyncSession, outbox: Outbox, principal: Principal, code: str, body: EvaluationIn, profile: JurisdictionProfile
) -> EvaluationOut:
    institution = await _institution(session, code)
    if not await _filed_by(session, institution.institution_code, principal.tenant):
        raise Forbidden("institution.not_filed", "只能评估本公司备案的机构", "An insurer evaluates only institutions it filed", field="institution_code")
    rules_ = profile.service_institutions
    if body.score > rules_.score_scale:
        raise DomainError("evaluation.score_above_scale", f"评分不得高于 {rules_.score_scale}", f"The score may not exceed {rules_.score_scale}", field="score")
    passed = not rules_.must_exit(body.score)
    evaluation = Evaluation(
        evaluation_id=_id("EVA"), institution_code=institution.institution_code, insurer=principal.tenant, year=body.year,
        score=body.score, passed=passed, evaluated_on=body.evaluated_on,
    )
    session.add(evaluation)
    key, subject = institution.institution_code, f"institutions/{institution.institution_code}"
    await outbox.enqueue(
        session,
        InstitutionEvaluated(
            institution_code=key, insurer=principal.tenant, year=body.year, score=body.score, exit_score=rules_.exit_score,
            passed=passed, evaluated_on=body.evaluated_on,
        ),
        partition_key=key, subject=subject,
    )
    if not passed and institution.status == "ACTIVE":
        # 动态退出: a score below the line removes the institution from the scheme.
        institution.status, institution.exit_reason = "EXITED", "LOW_SCORE"
        await outbox.enqueue(session, InstitutionExited(institution_code=key, reason="LOW_SCORE", exited_on=body.evaluated_on), partition_key=key, subject=subject)
    return EvaluationOut(
        evaluation_id=evaluation.evaluation_id, institution_code=key, insurer=principal.tenant, year=body.year, score=body.score,
        exit_score=rules_.exit_score, passed=passed, institution_status=institution.status,
    )


async def list_dishonest(session: AsyncSession, outbox: Outbox, code: str, body: DishonestyIn, profile: JurisdictionProfile) -> InstitutionOut:
    institution = await _institution(session, code)
    if institution.dishonest:
        raise Conflict("institution.already_listed", "该机构已在失信名单中", "The institution is already on the dishonesty list", field="institution_code")
    institution.dishonest, institution.dishonesty_reason = True, body.reason
    key = institution.institution_code
    await outbox.enqueue(
        session, InstitutionListedDishonest(institution_code=key, reason=body.reason, listed_on=body.listed_on),
        partition_key=key, subject=f"institutions/{key}",
    )
    return await institution_view(session, institution, profile)


# --- plans and records -----------------------------------------------------------------------


def _acting_insurer(principal: Principal, named: str | None) -> str:
    if principal.role is Role.INSURER:
        if named not in (None, principal.tenant):
            raise Forbidden("tenant.other_insurer", "保险机构只能为本公司记录", "An insurer records only for itself", field="insurer")
        return principal.tenant
    if not named:
        raise DomainError("service.insurer_required", "技术服务机构须指明委托的保险机构", "A service institution must name the insurer it works for", field="insurer")
    return named


async def _policy_in_force(session: AsyncSession, insurer: str, credit_code: str, policy_no: str, on: date) -> PolicyCopy:
    policy = await session.get(PolicyCopy, policy_no)
    if policy is None or policy.insurer != insurer or policy.credit_code != credit_code:
        raise DomainError(
            "service.no_policy", "该单位没有本保险机构的此保单", "The enterprise has no such policy with this insurer", field="policy_no", status=422,
        )
    in_force = policy.period_start <= on <= policy.period_end and (policy.cancelled_from is None or on < policy.cancelled_from)
    if not in_force:
        raise DomainError("service.policy_not_in_force", "服务日期不在保险期间内", "The policy is not in force on that day", field="policy_no")
    return policy


async def _working_institution(
    session: AsyncSession, principal: Principal, code: str, insurer: str, profile: JurisdictionProfile
) -> Institution:
    institution = await _institution(session, code)
    _entrustable(institution, profile)
    if not await _filed_by(session, institution.institution_code, insurer):
        raise DomainError(
            "institution.not_filed", "该机构未经此保险机构备案委托", "The institution is not on file with this insurer", field="institution_code", status=409,
        )
    if principal.role is Role.SERVICE_ORG and institution.owner_tenant != principal.tenant:
        raise Forbidden("tenant.other_institution", "只能以本机构名义记录", "A service institution records only its own work", field="institution_code")
    return institution


async def create_plan(session: AsyncSession, principal: Principal, body: ServicePlanIn, profile: JurisdictionProfile, now: datetime) -> ServicePlanOut:
    insurer = _acting_insurer(principal, body.insurer)
    await _policy_in_force(session, insurer, body.credit_code, body.policy_no, now.date())
    await _working_institution(session, principal, body.institution_code, insurer, profile)
    plan = ServicePlan(
        plan_id=_id("PLN"), insurer=insurer, credit_code=body.credit_code, policy_no=body.policy_no, institution_code=body.institution_code,
        items=[i.value for i in body.items], frequency=body.frequency, staff=body.staff, goals=body.goals, created_at=now,
    )
    session.add(plan)
    return _plan_view(plan)


def _plan_view(plan: ServicePlan) -> ServicePlanOut:
    return ServicePlanOut(
        plan_id=plan.plan_id, insurer=plan.insurer, credit_code=plan.credit_code, policy_no=plan.policy_no,
        institution_code=plan.institution_code, items=plan.items, frequency=plan.frequency, staff=plan.staff, goals=plan.goals,
    )


async def list_plans(session: AsyncSession, principal: Principal, credit_code: str | None) -> list[ServicePlanOut]:
    query = select(ServicePlan).order_by(ServicePlan.plan_id)
    if principal.role is Role.INSURER:
        query = query.where(ServicePlan.insurer == principal.tenant)
    elif principal.role is Role.SERVICE_ORG:
        query = query.where(ServicePlan.institution_code.in_(select(Institution.institution_code).where(Institution.owner_tenant == principal.tenant)))
    if credit_code:
        query = query.where(ServicePlan.credit_code == credit_code.upper())
    return [_plan_view(p) for p in (await session.execute(query.limit(1000))).scalars()]


def record_view(record: ServiceRecord) -> ServiceRecordOut:
    return ServiceRecordOut(
        record_id=record.record_id, insurer=record.insurer, credit_code=record.credit_code, policy_no=record.policy_no,
        institution_code=record.institution_code, item=record.item, performed_on=record.performed_on, place=record.place,
        staff=record.staff, cost=record.cost, findings=record.findings, attachments=record.attachments,
        confirmed_by_unit=record.confirmed_by_unit,
    )


async def record_service(
    session: AsyncSession, outbox: Outbox, principal: Principal, body: ServiceRecordIn, profile: JurisdictionProfile, now: datetime
) -> ServiceRecordOut:
    insurer = _acting_insurer(principal, body.insurer)
    await _working_institution(session, principal, body.institution_code, insurer, profile)
    await _policy_in_force(session, insurer, body.credit_code, body.policy_no, body.performed_on)
    record = ServiceRecord(
        record_id=_id("SR"), insurer=insurer, credit_code=body.credit_code, policy_no=body.policy_no, institution_code=body.institution_code,
        item=body.item.value, performed_on=body.performed_on, place=body.place, staff=body.staff, cost=body.cost, findings=body.findings,
        attachments=body.attachments, confirmed_by_unit=body.confirmed_by_unit, recorded_by=principal.tenant, created_at=now,
    )
    session.add(record)
    await outbox.enqueue(
        session,
        ServiceRecorded(
            record_id=record.record_id, credit_code=record.credit_code, policy_no=record.policy_no, insurer=insurer,
            institution_code=record.institution_code, item=body.item, performed_on=record.performed_on, staff=record.staff, cost=record.cost,
        ),
        partition_key=record.credit_code, subject=f"service-records/{record.record_id}",
    )
    return record_view(record)


def _records_visible_to(principal: Principal):
    query = select(ServiceRecord)
    if principal.role is Role.INSURER:
        return query.where(ServiceRecord.insurer == principal.tenant)
    if principal.role is Role.SERVICE_ORG:
        return query.where(ServiceRecord.institution_code.in_(select(Institution.institution_code).where(Institution.owner_tenant == principal.tenant)))
    return query


async def list_records(
    session: AsyncSession, principal: Principal, *, credit_code: str | None, limit: int, after: str | None
) -> ServiceRecordPage:
    query = _records_visible_to(principal).order_by(ServiceRecord.record_id).limit(limit + 1)
    if credit_code:
        query = query.where(ServiceRecord.credit_code == credit_code.upper())
    if after:
        query = query.where(ServiceRecord.record_id > after)
    rows = list((await session.execute(query)).scalars())
    page = rows[:limit]
    return ServiceRecordPage(items=[record_view(r) for r in page], next_cursor=page[-1].record_id if len(rows) > limit else None)


# --- hazards ---------------------------------------------------------------------------------


def _found_by_professional_service(hazard: Hazard) -> bool:
    return hazard.record_id is not None


def hazard_view(hazard: Hazard) -> HazardOut:
    status = HazardStatus(hazard.status)
    return HazardOut(
        hazard_id=hazard.hazard_id, insurer=hazard.insurer, credit_code=hazard.credit_code, policy_no=hazard.policy_no,
        record_id=hazard.record_id, level=hazard.level, description=hazard.description, found_on=hazard.found_on, deadline=hazard.deadline,
        status=status, evidence=hazard.evidence, verified_by=hazard.verified_by,
        counts_as_self_inspection=rules.counts_as_self_inspection(status, _found_by_professional_service(hazard)),
        enforcement_basis=rules.enforcement_basis(status), changed_at=utc(hazard.changed_at),
    )


async def _publish_status(session: AsyncSession, outbox: Outbox, hazard: Hazard) -> None:
    status = HazardStatus(hazard.status)
    await outbox.enqueue(
        session,
        HazardStatusChanged(
            hazard_id=hazard.hazard_id, credit_code=hazard.credit_code, major=hazard.level == "MAJOR", status=status,
            changed_at=utc(hazard.changed_at), insurer=hazard.insurer,
            counts_as_self_inspection=rules.counts_as_self_inspection(status, _found_by_professional_service(hazard)),
            enforcement_basis=rules.enforcement_basis(status), verified_by=hazard.verified_by,
        ),
        partition_key=hazard.credit_code, subject=f"hazards/{hazard.hazard_id}",
    )


async def report_hazard(session: AsyncSession, outbox: Outbox, principal: Principal, body: HazardIn, now: datetime) -> HazardOut:
    insurer = _acting_insurer(principal, body.insurer)
    policy_no = body.policy_no
    if body.record_id is not None:
        record = (await session.execute(_records_visible_to(principal).where(ServiceRecord.record_id == body.record_id))).scalar_one_or_none()
        if record is None or record.insurer != insurer or record.credit_code != body.credit_code:
            raise DomainError("hazard.record_unknown", "找不到该单位的这条服务记录", "No such service record for this enterprise", field="record_id")
        policy_no = policy_no or record.policy_no
    if policy_no is not None:
        policy = await session.get(PolicyCopy, policy_no)
        if policy is None or policy.insurer != insurer or policy.credit_code != body.credit_code:
            raise DomainError("service.no_policy", "该单位没有本保险机构的此保单", "The enterprise has no such policy with this insurer", field="policy_no")
    hazard = Hazard(
        hazard_id=_id("HZ"), insurer=insurer, credit_code=body.credit_code, policy_no=policy_no, record_id=body.record_id, level=body.level.value,
        description=body.description, found_on=body.found_on, deadline=body.deadline, status=HazardStatus.OPEN.value, evidence=[],
        reported_by=principal.tenant, changed_at=now,
    )
    session.add(hazard)
    session.add(HazardChange(hazard_id=hazard.hazard_id, from_status=None, to_status=hazard.status, changed_by=principal.client_id, changed_at=now))
    await outbox.enqueue(
        session,
        HazardFound(
            hazard_id=hazard.hazard_id, credit_code=hazard.credit_code, insurer=insurer, policy_no=policy_no, record_id=hazard.record_id,
            level=body.level, description=hazard.description, found_on=hazard.found_on, deadline=hazard.deadline,
        ),
        partition_key=hazard.credit_code, subject=f"hazards/{hazard.hazard_id}",
    )
    await _publish_status(session, outbox, hazard)
    return hazard_view(hazard)


def _hazards_visible_to(principal: Principal):
    query = select(Hazard)
    if principal.role is Role.INSURER:
        return query.where(Hazard.insurer == principal.tenant)
    if principal.role is Role.SERVICE_ORG:
        return query.where(Hazard.reported_by == principal.tenant)
    return query


async def _visible_hazard(session: AsyncSession, principal: Principal, hazard_id: str) -> Hazard:
    hazard = (await session.execute(_hazards_visible_to(principal).where(Hazard.hazard_id == hazard_id))).scalar_one_or_none()
    if hazard is None:
        raise NotFound("hazard.not_found", f"隐患 {hazard_id} 不存在", f"No hazard {hazard_id}", field="hazard_id")
    return hazard


async def get_hazard(session: AsyncSession, principal: Principal, hazard_id: str) -> HazardOut:
    return hazard_view(await _visible_hazard(session, principal, hazard_id))


async def change_hazard_status(
    session: AsyncSession, outbox: Outbox, principal: Principal, hazard_id: str, body: HazardStatusIn, now: datetime
) -> HazardOut:
    hazard = await _visible_hazard(session, principal, hazard_id)
    current, target = HazardStatus(hazard.status), body.status
    if not rules.transition_allowed(current, target):
        raise DomainError(
            "hazard.transition_not_allowed",
            f"隐患状态不能从 {current.value} 变为 {target.value}",
            f"A hazard may not go from {current.value} to {target.value}",
            field="status", status=409,
        )
    if target is HazardStatus.VERIFIED and not body.verified_by:
        raise DomainError("hazard.verifier_required", "验收须写明验收人", "Verification must name who verified", field="verified_by")
    if target is HazardStatus.OVERDUE and not rules.is_overdue(hazard.deadline, now.astimezone(rules.SHANGHAI).date()):
        raise DomainError("hazard.not_overdue", "整改期限未到，不能标记逾期", "The deadline has not passed", field="status", status=409)
    hazard.status = target.value
    hazard.evidence = [*hazard.evidence, *body.evidence]
    if target is HazardStatus.VERIFIED:
        hazard.verified_by = body.verified_by
    hazard.changed_at = now
    session.add(HazardChange(hazard_id=hazard.hazard_id, from_status=current.value, to_status=target.value, changed_by=principal.client_id, changed_at=now, note=body.note))
    await _publish_status(session, outbox, hazard)
    return hazard_view(hazard)


async def list_hazards(
    session: AsyncSession, principal: Principal, *, status: HazardStatus | None, credit_code: str | None, limit: int, after: str | None
) -> HazardPage:
    query = _hazards_visible_to(principal).order_by(Hazard.hazard_id).limit(limit + 1)
    if status is not None:
        query = query.where(Hazard.status == status.value)
    if credit_code:
        query = query.where(Hazard.credit_code == credit_code.upper())
    if after:
        query = query.where(Hazard.hazard_id > after)
    rows = list((await session.execute(query)).scalars())
    page = rows[:limit]
    return HazardPage(items=[hazard_view(h) for h in page], next_cursor=page[-1].hazard_id if len(rows) > limit else None)


async def hazard_batches(sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, batch: int = 1000):
    """Every visible hazard in id order, a batch at a time, each read in a short transaction of its own.

    Memory stays constant for any size, and no transaction (on SQLite: no lock) is held while the
    client reads the export at its own pace.
    """
    after = ""
    while True:
        async with sessionmaker() as session:
            query = _hazards_visible_to(principal).where(Hazard.hazard_id > after).order_by(Hazard.hazard_id).limit(batch)
            views = [hazard_view(h) for h in (await session.execute(query)).scalars()]
        if views:
            yield views
        if len(views) < batch:
            return
        after = views[-1].hazard_id


async def mark_overdue(sessionmaker: async_sessionmaker[AsyncSession], outbox: Outbox, now: datetime) -> int:
    """The watcher: hazards past their deadline while still open or being rectified become OVERDUE, once."""
    today = now.astimezone(rules.SHANGHAI).date()
    marked = 0
    async with sessionmaker() as session, session.begin():
        due = (
            await session.execute(
                select(Hazard).where(Hazard.status.in_([s.value for s in rules.UNDER_RECTIFICATION]), Hazard.deadline < today).limit(500)
            )
        ).scalars()
        for hazard in due:
            session.add(HazardChange(hazard_id=hazard.hazard_id, from_status=hazard.status, to_status="OVERDUE", changed_by="system:overdue-watcher", changed_at=now))
            hazard.status, hazard.changed_at = HazardStatus.OVERDUE.value, now
            await _publish_status(session, outbox, hazard)
            marked += 1
    return marked


# --- prevention-fund ledger ------------------------------------------------------------------


def entry_view(entry: FundEntry) -> FundEntryOut:
    return FundEntryOut(
        entry_id=entry.entry_id, insurer=entry.insurer, year=entry.year, kind=entry.kind, category=entry.category, amount=entry.amount,
        collected_premium=entry.collected_premium, record_id=entry.record_id, reverses=entry.reverses, description=entry.description,
        created_by=entry.created_by, created_at=utc(entry.created_at),
    )


async def _sum(session: AsyncSession, insurer: str, year: int, kinds: tuple[str, ...], column=FundEntry.amount) -> Decimal:
    total = (
        await session.execute(select(func.coalesce(func.sum(column), 0)).where(FundEntry.insurer == insurer, FundEntry.year == year, FundEntry.kind.in_(kinds)))
    ).scalar_one()
    return Decimal(total).quantize(Decimal("0.01"))


async def _figures(session: AsyncSession, insurer: str, year: int) -> dict[str, Decimal]:
    return {
        "collected": await _sum(session, insurer, year, ("ACCRUAL",), FundEntry.collected_premium),
        "accrued": await _sum(session, insurer, year, ("ACCRUAL",)),
        "carried_in": await _sum(session, insurer, year, ("CARRY_IN",)),
        "spent": await _sum(session, insurer, year, ("EXPENSE", "REVERSAL")),
        "carried_out": await _sum(session, insurer, year, ("CARRY_OUT",)),
    }


async def _closed(session: AsyncSession, insurer: str, year: int) -> bool:
    found = await session.execute(select(FundEntry.entry_id).where(FundEntry.insurer == insurer, FundEntry.year == year, FundEntry.kind == "CARRY_OUT"))
    return found.first() is not None


async def book_expense(
    session: AsyncSession, outbox: Outbox, principal: Principal, body: ExpenseIn, profile: JurisdictionProfile, now: datetime
) -> FundEntryOut:
    fund = profile.prevention_fund
    if body.category in fund.forbidden_expenses:
        raise DomainError(
            "prevention_fund.category_forbidden",
            f"事故预防费用不得用于 {body.category}（业务推广、营销等）（《实施办法》第二十二条）",
            f"Prevention money may not pay for {body.category} (business promotion, marketing; Measures 2025 Art. 22)",
            field="category",
        )
    if not fund.expense_allowed(body.category):
        raise DomainError(
            "prevention_fund.category_unknown", f"支出类别 {body.category} 不在允许范围内", f"{body.category} is not an allowed prevention expense",
            field="category", extra={"allowed": list(fund.allowed_expenses)},
        )
    insurer = principal.tenant
    if await _closed(session, insurer, body.year):
        raise DomainError("prevention_fund.year_closed", f"{body.year} 年度已结转，不能再记支出", f"Year {body.year} is closed", field="year", status=409)
    if body.record_id is not None:
        record = await session.get(ServiceRecord, body.record_id)
        if record is None or record.insurer != insurer:
            raise DomainError("prevention_fund.record_unknown", "找不到本公司的这条服务记录", "No such service record of this insurer", field="record_id")
    figures = await _figures(session, insurer, body.year)
    limit = fund.spending_limit(figures["collected"], figures["carried_in"])
    if figures["spent"] + body.amount > limit:
        raise DomainError(
            "prevention_fund.cap_exceeded",
            f"本年度已支出 {figures['spent']}，再支出 {body.amount} 将超过上限 {limit}（实收保费的 {fund.cap_ratio:%}）",
            f"Spent {figures['spent']}; {body.amount} more would pass the limit {limit} ({fund.cap_ratio:%} of premium collected)",
            field="amount", extra={"limit": str(limit), "spent": str(figures["spent"]), "collected_premium": str(figures["collected"])},
        )
    entry = FundEntry(
        entry_id=_id("FE"), insurer=insurer, year=body.year, kind="EXPENSE", category=body.category, amount=body.amount, collected_premium=Decimal(0),
        record_id=body.record_id, description=body.description, created_by=principal.client_id, created_at=now,
    )
    session.add(entry)
    await outbox.enqueue(
        session, FundSpent(entry_id=entry.entry_id, insurer=insurer, year=body.year, category=body.category, amount=body.amount, record_id=body.record_id),
        partition_key=insurer, subject=f"fund/{insurer}/{body.year}",
    )
    return entry_view(entry)


async def reverse_entry(session: AsyncSession, outbox: Outbox, principal: Principal, entry_id: str, body: ReversalIn, now: datetime) -> FundEntryOut:
    original = await session.get(FundEntry, entry_id)
    if original is None or original.insurer != principal.tenant:
        raise NotFound("prevention_fund.entry_not_found", f"台账分录 {entry_id} 不存在", f"No ledger entry {entry_id}", field="entry_id")
    if original.kind != "EXPENSE":
        raise DomainError(
            "prevention_fund.not_reversible", "只能冲销支出分录（计提随退费自动冲减）", "Only expense entries are reversed here (accruals follow refunds)",
            field="entry_id", status=409,
        )
    if (await session.execute(select(FundEntry.entry_id).where(FundEntry.reverses == entry_id))).first() is not None:
        raise Conflict("prevention_fund.already_reversed", "该分录已冲销", "This entry was already reversed", field="entry_id")
    if await _closed(session, original.insurer, original.year):
        raise DomainError("prevention_fund.year_closed", f"{original.year} 年度已结转", f"Year {original.year} is closed", field="entry_id", status=409)
    entry = FundEntry(
        entry_id=_id("FE"), insurer=original.insurer, year=original.year, kind="REVERSAL", category=original.category, amount=-original.amount,
        collected_premium=Decimal(0), record_id=original.record_id, reverses=original.entry_id, description=body.reason,
        created_by=principal.client_id, created_at=now,
    )
    session.add(entry)
    await outbox.enqueue(
        session,
        FundSpent(entry_id=entry.entry_id, insurer=entry.insurer, year=entry.year, category=entry.category or "", amount=entry.amount,
                  record_id=entry.record_id, reverses=original.entry_id),
        partition_key=entry.insurer, subject=f"fund/{entry.insurer}/{entry.year}",
    )
    return entry_view(entry)


async def close_year(
    session: AsyncSession, outbox: Outbox, principal: Principal, year: int, profile: JurisdictionProfile, now: datetime
) -> CloseOut:
    insurer = principal.tenant
    today = now.astimezone(rules.SHANGHAI).date()
    if today.year <= year:
        raise DomainError("prevention_fund.year_not_over", f"{year} 年度尚未结束", f"Year {year} is not over yet", field="year", status=409)
    if await _closed(session, insurer, year):
        raise Conflict("prevention_fund.year_closed", f"{year} 年度已结转", f"Year {year} is already closed", field="year")
    figures = await _figures(session, insurer, year)
    carried = profile.prevention_fund.carry_over(figures["collected"], figures["spent"])
    for kind, entry_year, amount in (("CARRY_OUT", year, -carried), ("CARRY_IN", year + 1, carried)):
        session.add(
            FundEntry(
                entry_id=_id("FE"), insurer=insurer, year=entry_year, kind=kind, amount=amount, collected_premium=Decimal(0),
                description=f"{year} → {year + 1}", created_by=principal.client_id, created_at=now,
            )
        )
    await outbox.enqueue(
        session, FundCarriedOver(entry_id=_id("FC"), insurer=insurer, from_year=year, to_year=year + 1, amount=carried),
        partition_key=insurer, subject=f"fund/{insurer}/{year}",
    )
    return CloseOut(insurer=insurer, year=year, carried_over=carried, to_year=year + 1)


def _fund_insurer(principal: Principal, asked: str | None) -> str:
    if principal.role is Role.INSURER:
        if asked not in (None, principal.tenant):
            raise Forbidden("tenant.other_insurer", "只能查看本公司的费用台账", "An insurer sees only its own fund ledger", field="insurer")
        return principal.tenant
    if not asked:
        raise DomainError("prevention_fund.insurer_required", "请指明保险机构", "Name the insurer (?insurer=)", field="insurer")
    return asked


async def fund_position(
    session: AsyncSession, principal: Principal, year: int, asked: str | None, profile: JurisdictionProfile, now: datetime
) -> FundPositionOut:
    insurer = _fund_insurer(principal, asked)
    figures = await _figures(session, insurer, year)
    position = rules.fund_position(
        profile.prevention_fund, year, now.astimezone(rules.SHANGHAI).date(), collected=figures["collected"], accrued=figures["accrued"],
        carried_in=figures["carried_in"], spent=figures["spent"], closed=await _closed(session, insurer, year), carried_out=-figures["carried_out"],
    )
    entries = (
        await session.execute(select(FundEntry).where(FundEntry.insurer == insurer, FundEntry.year == year).order_by(FundEntry.created_at, FundEntry.entry_id))
    ).scalars()
    return FundPositionOut(insurer=insurer, jurisdiction=profile.jurisdiction, entries=[entry_view(e) for e in entries], **vars(position))
