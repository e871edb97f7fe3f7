"""Queries of the monitoring hub's read models, scoped to what the caller may see."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import Role
from contracts.events.registry import EVENT_TYPES
from contracts.identifiers import is_valid_credit_code
from kernel.auth import Principal
from kernel.errors import DomainError, Forbidden, NotFound
from services.monitoring import rules, uploads
from services.monitoring.models import ArchivedEvent, EnterpriseView, MandatoryEnterprise, PolicyCoverView, PushDeadLetter, PushSubscription


def visible_industries(principal: Principal, requested: str | None) -> set[str] | None:
    """None means every industry. A bureau sees only its own industries (least privilege)."""
    if principal.role != Role.BUREAU:
        return {requested} if requested else None
    own = {i.value for i in principal.industries}
    if requested and requested not in own:
        raise Forbidden(
            "tenant.industry_not_supervised",
            "行业主管部门只能查看本部门监管行业的数据",
            "A bureau may only see the industries it supervises",
            field="industry",
        )
    return {requested} if requested else own


async def list_enterprises(
    session: AsyncSession, principal: Principal, *, industry: str | None, limit: int, after: str | None
) -> tuple[list[EnterpriseView], str | None]:
    query = select(EnterpriseView).order_by(EnterpriseView.credit_code).limit(limit + 1)
    industries = visible_industries(principal, industry)
    if industries is not None:
        query = query.where(EnterpriseView.industry.in_(industries))
    if after:
        query = query.where(EnterpriseView.credit_code > after)
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], (rows[limit - 1].credit_code if len(rows) > limit else None)


# -- pull feed (事件拉取) ------------------------------------------------------------------------


def _bad_cursor() -> DomainError:
    return DomainError("feed.cursor_invalid", "游标无效", "The cursor is not one this feed returned", field="after")


def _check_event_types(types: list[str], field: str) -> None:
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise DomainError(
            "events.type_unknown",
            f"未知的事件类型：{', '.join(unknown)}",
            f"Unknown event types: {', '.join(unknown)}",
            field=field,
        )


async def read_feed(session: AsyncSession, *, after: str | None, types: list[str], limit: int) -> tuple[list[dict], str]:
    position = rules.decode_feed_cursor(after)
    if position is None:
        raise _bad_cursor()
    _check_event_types(types, "types")
    query = select(ArchivedEvent.sequence, ArchivedEvent.envelope).where(ArchivedEvent.sequence > position)
    if types:
        query = query.where(ArchivedEvent.type.in_(types))
    rows = (await session.execute(query.order_by(ArchivedEvent.sequence).limit(limit))).all()
    last = rows[-1].sequence if rows else position
    return [json.loads(row.envelope) for row in rows], rules.encode_feed_cursor(last)


# -- push subscriptions (推送订阅) -----------------------------------------------------------------


def _subscription_out(sub: PushSubscription, **extra) -> dict:
    return {
        "id": sub.id,
        "endpoint_url": sub.endpoint_url,
        "event_types": json.loads(sub.event_types),
        "created_at": sub.created_at,
        "delivered_through": sub.delivered_through,
        "attempts": sub.attempts,
        "last_error": sub.last_error,
        **extra,
    }


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def create_subscription(
    session: AsyncSession, principal: Principal, *, endpoint_url: str, event_types: list[str], allow_http_localhost: bool
) -> dict:
    refusal = rules.endpoint_refusal(endpoint_url, allow_http_localhost=allow_http_localhost)
    if refusal:
        raise DomainError(
            "subscription.endpoint_not_https",
            "推送地址必须是 HTTPS 地址",
            f"The endpoint must be an HTTPS URL ({refusal})",
            field="endpoint_url",
        )
    _check_event_types(event_types, "event_types")
    # A new subscription receives what is archived after it; the pull feed covers what came before.
    latest = (await session.execute(select(func.max(ArchivedEvent.sequence)))).scalar_one() or 0
    sub = PushSubscription(
        id=uuid.uuid4().hex,
        tenant=principal.tenant,
        endpoint_url=endpoint_url,
        event_types=json.dumps(sorted(set(event_types))),
        secret=new_signing_secret(),
        created_at=datetime.now(UTC),
        active=True,
        delivered_through=latest,
        attempts=0,
    )
    session.add(sub)
    await session.flush()
    return _subscription_out(sub, secret=sub.secret)


async def _own_subscription(session: AsyncSession, principal: Principal, subscription_id: str) -> PushSubscription:
    sub = await session.get(PushSubscription, subscription_id)
    # Another tenant's subscription is answered as absent, not forbidden: its existence is not ours to reveal.
    if sub is None or not sub.active or sub.tenant != principal.tenant:
        raise NotFound("subscription.not_found", "推送订阅不存在", "No such subscription", field="subscription_id")
    return sub


async def list_subscriptions(session: AsyncSession, principal: Principal) -> list[dict]:
    query = select(PushSubscription).where(PushSubscription.tenant == principal.tenant, PushSubscription.active.is_(True))
    return [_subscription_out(sub) for sub in (await session.execute(query.order_by(PushSubscription.created_at))).scalars()]


async def get_subscription(session: AsyncSession, principal: Principal, subscription_id: str) -> dict:
    return _subscription_out(await _own_subscription(session, principal, subscription_id))


async def delete_subscription(session: AsyncSession, principal: Principal, subscription_id: str) -> None:
    sub = await _own_subscription(session, principal, subscription_id)
    await session.delete(sub)


async def list_dead_letters(session: AsyncSession, principal: Principal, subscription_id: str) -> list[PushDeadLetter]:
    await _own_subscription(session, principal, subscription_id)
    query = (
        select(PushDeadLetter)
        .where(
            PushDeadLetter.subscription_id == subscription_id, PushDeadLetter.dead_at.is_not(None), PushDeadLetter.redelivered_at.is_(None)
        )
        .order_by(PushDeadLetter.sequence)
    )
    return list((await session.execute(query)).scalars())


async def request_redelivery(session: AsyncSession, principal: Principal, subscription_id: str, event_id: str | None) -> int:
    """Queue dead letters (or one event already passed) for another delivery by the worker."""
    sub = await _own_subscription(session, principal, subscription_id)
    if event_id is None:
        letters = await list_dead_letters(session, principal, subscription_id)
        for letter in letters:
            letter.redelivery_requested = True
        return len(letters)
    event = (await session.execute(select(ArchivedEvent).where(ArchivedEvent.event_id == event_id))).scalar_one_or_none()
    wanted = json.loads(sub.event_types)
    if event is None or event.sequence > sub.delivered_through or (wanted and event.type not in wanted):
        raise NotFound(
            "subscription.event_not_delivered",
            "该事件不属于此订阅已推送或死信的事件",
            "The event is not one this subscription has delivered or dead-lettered",
            field="event_id",
        )
    letter = (
        await session.execute(
            select(PushDeadLetter).where(PushDeadLetter.subscription_id == sub.id, PushDeadLetter.sequence == event.sequence)
        )
    ).scalar_one_or_none()
    if letter is None:
        letter = PushDeadLetter(subscription_id=sub.id, sequence=event.sequence, event_id=event.event_id, attempts=0)
        session.add(letter)
    letter.redelivery_requested = True
    letter.redelivered_at = None
    return 1


# -- mandatory-enterprise registry (应保企业名录) --------------------------------------------------

_UPSERT_CHUNK = 500


# Row errors listed in one upload's answer; the rest are only counted.
MAX_REPORTED_ROW_ERRORS = 1000


class UploadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


async def upload_registry(
    session: AsyncSession, principal: Principal, *, filename: str | None, content_type: str | None, content: bytes
) -> dict:
    """Keep the good rows of a bureau's list (upsert per credit code and bureau) and report every bad one."""
    fmt = uploads.upload_format(filename, content_type)
    if fmt is None:
        raise DomainError(
            "registry.format_unsupported", "仅支持 CSV、XLSX 或 JSON 文件", "Only CSV, XLSX or JSON files are accepted", field="file"
        )
    try:
        rows = uploads.read_rows(fmt, content)
    except uploads.MalformedUpload as exc:
        raise DomainError(exc.rule, exc.message_zh, f"The file cannot be read: {exc}", field="file") from exc
    own = frozenset(i.value for i in principal.industries)
    good: dict[str, dict] = {}
    errors: list[dict] = []
    reported_all = True
    rejected = 0
    for number, row in rows:
        broken = rules.registry_row_errors(row, bureau_industries=own, is_valid_credit_code=is_valid_credit_code)
        broken += uploads.formula_errors(row)
        if broken:
            rejected += 1
            if len(errors) < MAX_REPORTED_ROW_ERRORS:
                errors += [{"row": number, "field": f, "rule": r, "message_zh": zh, "message_en": en} for f, r, zh, en in broken]
            else:
                reported_all = False
            continue
        code = str(row["credit_code"]).strip().upper()
        # The same enterprise twice in one file: the later row is the bureau's last word.
        good[code] = {
            "name": str(row["name"]).strip(),
            "industry": str(row["industry"]).strip().upper(),
            "district": str(row["district"]).strip(),
        }
    now = datetime.now(UTC)
    codes = list(good)
    for start in range(0, len(codes), _UPSERT_CHUNK):
        chunk = codes[start : start + _UPSERT_CHUNK]
        existing = {
            e.credit_code: e
            for e in (
                await session.execute(
                    select(MandatoryEnterprise).where(
                        MandatoryEnterprise.bureau == principal.tenant, MandatoryEnterprise.credit_code.in_(chunk)
                    )
                )
            ).scalars()
        }
        for code in chunk:
            entry = existing.get(code)
            if entry is None:
                session.add(MandatoryEnterprise(credit_code=code, bureau=principal.tenant, uploaded_at=now, **good[code]))
            else:
                entry.name, entry.industry, entry.district = good[code]["name"], good[code]["industry"], good[code]["district"]
                entry.uploaded_at = now
    if not reported_all:
        # A file of garbage would otherwise answer with millions of errors; the counts stay exact.
        errors.append(
            {
                "row": 0,
                "field": None,
                "rule": "registry.errors_truncated",
                "message_zh": f"错误过多，仅列出前 {len(errors)} 条；共 {rejected} 行被拒绝",
                "message_en": f"Too many errors: only the first {len(errors)} are listed; {rejected} rows were rejected",
            }
        )
    return {"accepted": len(rows) - rejected, "rejected": rejected, "errors": errors}


async def list_registry(
    session: AsyncSession, principal: Principal, *, industry: str | None, limit: int, after: str | None
) -> tuple[list[MandatoryEnterprise], str | None]:
    """The registry as the caller may see it, one row per enterprise and listing bureau, by credit code."""
    query = select(MandatoryEnterprise).order_by(MandatoryEnterprise.credit_code, MandatoryEnterprise.bureau)
    industries = visible_industries(principal, industry)
    if industries is not None:
        query = query.where(MandatoryEnterprise.industry.in_(industries))
    if after:
        code, _, bureau = after.partition(":")
        query = query.where(
            or_(MandatoryEnterprise.credit_code > code, and_(MandatoryEnterprise.credit_code == code, MandatoryEnterprise.bureau > bureau))
        )
    rows = list((await session.execute(query.limit(limit + 1))).scalars())
    last = rows[limit - 1] if len(rows) > limit else None
    return rows[:limit], (f"{last.credit_code}:{last.bureau}" if last else None)


# -- coverage 应保尽保 -----------------------------------------------------------------------------


async def coverage(session: AsyncSession, principal: Principal, *, on: date, industry: str | None, district: str | None) -> list[dict]:
    """Must insure (bureaus' registry ∪ units registered as must-insure), insured on ``on``, and 应保未保, per industry and district."""
    industries = visible_industries(principal, industry)
    listed = select(MandatoryEnterprise.credit_code, MandatoryEnterprise.name, MandatoryEnterprise.industry, MandatoryEnterprise.district)
    registered = select(EnterpriseView.credit_code, EnterpriseView.name, EnterpriseView.industry, EnterpriseView.district).where(
        EnterpriseView.must_insure.is_(True)
    )
    if industries is not None:
        listed = listed.where(MandatoryEnterprise.industry.in_(industries))
        registered = registered.where(EnterpriseView.industry.in_(industries))
    if district:
        listed = listed.where(MandatoryEnterprise.district == district)
        registered = registered.where(EnterpriseView.district == district)
    units = [tuple(r) for r in (await session.execute(listed)).all()] + [tuple(r) for r in (await session.execute(registered)).all()]
    covers = select(PolicyCoverView.credit_code).where(
        PolicyCoverView.period_start <= on,
        PolicyCoverView.period_end >= on,
        or_(PolicyCoverView.cancelled_from.is_(None), PolicyCoverView.cancelled_from > on),
    )
    insured = set((await session.execute(covers)).scalars())
    return rules.coverage_by_group(units, insured)
