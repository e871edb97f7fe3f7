"""Idempotency-Key for POSTs that create something (IETF httpapi idempotency-key-header draft).

A key is scoped to the calling client (``principal.client_id``), the method and the path. The
first request with a key *claims* it in a short transaction of its own (so a concurrent retry
sees it in progress and gets 409); the answer is then stored in the request's own transaction,
together with the effect it reports, so a stored answer exists exactly when the effect does.

- same key, same body (SHA-256 of the canonical JSON) → the stored first answer, same status
  and body, with ``Idempotent-Replayed: true``;
- same key, another body → 422 ``idempotency.key_reused``;
- same key while the first request still runs → 409 ``idempotency.request_in_progress``.

A request that fails (a refused rule, a crash before commit) releases its key: nothing
happened, so the client may retry with the same key. A claim abandoned by a killed process is
taken over once its lease expires.

Usage in a router::

    @router.post("/things", status_code=201)
    async def create(body: ThingIn, principal: Writer, session: SessionDep, request: Request, key: IdempotencyKey = None):
        return await idempotent(request, session, principal.client_id, key, lambda: service.create(session, body), 201)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kernel.errors import Conflict, DomainError

IN_PROGRESS = "in_progress"
COMPLETED = "completed"
CLAIM_LEASE = timedelta(seconds=60)  # default; a service's settings.idempotency_claim_lease_seconds overrides it

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry-safe key (IETF Idempotency-Key): the same key and body return the first answer",
    ),
]


def idempotency_table(metadata: MetaData) -> Table:
    """The stored keys and answers; a service's ``models.py`` adds it to its metadata."""
    return Table(
        "idempotency_keys",
        metadata,
        # SHA-256 of client id, method, path and key: one row per scoped key, of fixed size.
        Column("scope_hash", String(64), primary_key=True),
        Column("client_id", String(200), nullable=False),
        Column("method", String(10), nullable=False),
        Column("path", String(500), nullable=False),
        Column("idempotency_key", String(255), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("state", String(20), nullable=False),
        Column("response_status", Integer, nullable=True),
        Column("response_body", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("lease_until", DateTime(timezone=True), nullable=False),
    )


def _sha256(text: str | bytes) -> str:
    return hashlib.sha256(text if isinstance(text, bytes) else text.encode()).hexdigest()


def request_fingerprint(body: bytes) -> str:
    """SHA-256 of the body as canonical JSON (key order and spacing do not matter); raw bytes if not JSON."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return _sha256(body)
    return _sha256(canonical)


def _key_reused() -> DomainError:
    return DomainError(
        "idempotency.key_reused",
        "该幂等键已用于另一个不同的请求体",
        "This Idempotency-Key was already used with a different request body",
        field="Idempotency-Key",
    )


def _in_progress() -> Conflict:
    return Conflict(
        "idempotency.request_in_progress",
        "使用该幂等键的请求仍在处理中，请稍后重试",
        "A request with this Idempotency-Key is still being processed; retry later",
        field="Idempotency-Key",
    )


def _replay(row: Any) -> JSONResponse:
    return JSONResponse(
        status_code=row.response_status, content=json.loads(row.response_body), headers={"Idempotent-Replayed": "true"}
    )


def _as_json(answer: Any) -> Any:
    """The answer as JSON values: a pydantic model dumped once by pydantic-core (walking the dump again
    with ``jsonable_encoder`` cost more CPU than the rest of a policy issue); anything else encoded."""
    if isinstance(answer, BaseModel):
        return answer.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(answer)


async def idempotent(
    request: Request,
    session: AsyncSession,
    client_id: str,
    key: str | None,
    produce: Callable[[], Awaitable[Any]],
    status_code: int = 201,
) -> JSONResponse:
    """Run ``produce`` once per scoped key and answer with its result (or the stored first answer)."""
    if key is None:
        return JSONResponse(status_code=status_code, content=_as_json(await produce()))
    table: Table = request.app.state.idempotency_table
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    method, path = request.method, request.url.path
    scope_hash = _sha256(json.dumps([client_id, method, path, key]))
    fingerprint = request_fingerprint(await request.body())
    now = datetime.now(UTC)
    settings = getattr(request.app.state, "settings", None)
    lease = timedelta(seconds=getattr(settings, "idempotency_claim_lease_seconds", CLAIM_LEASE.total_seconds()))

    # 1. Claim the key in a transaction of its own, so a concurrent retry sees it in progress.
    async with sessionmaker() as claim:
        try:
            await claim.execute(
                table.insert().values(
                    scope_hash=scope_hash, client_id=client_id, method=method, path=path, idempotency_key=key,
                    request_hash=fingerprint, state=IN_PROGRESS, created_at=now, lease_until=now + lease,
                )
            )
            await claim.commit()
        except IntegrityError:
            await claim.rollback()
            row = (await claim.execute(select(table).where(table.c.scope_hash == scope_hash))).one()
            if row.request_hash != fingerprint:
                raise _key_reused()
            if row.state == COMPLETED:
                return _replay(row)
            lease_until = row.lease_until if row.lease_until.tzinfo else row.lease_until.replace(tzinfo=UTC)
            if lease_until > now:
                raise _in_progress()
            # An abandoned claim (its process died): take it over, once.
            taken = await claim.execute(
                update(table)
                .where(table.c.scope_hash == scope_hash, table.c.state == IN_PROGRESS, table.c.lease_until == row.lease_until)
                .values(lease_until=now + lease)
            )
            await claim.commit()
            if taken.rowcount != 1:
                raise _in_progress()

    # 2. The effect and the stored answer share the request's transaction.
    try:
        content = _as_json(await produce())
        await session.execute(
            update(table)
            .where(table.c.scope_hash == scope_hash)
            .values(state=COMPLETED, response_status=status_code, response_body=json.dumps(content, ensure_ascii=False))
        )
    except BaseException:
        # Nothing happened: roll the effect back and free the key in the same session (on SQLite a
        # second session would wait for this one's write lock).
        await session.rollback()
        await session.execute(delete(table).where(table.c.scope_hash == scope_hash, table.c.state == IN_PROGRESS))
        await session.commit()
        raise
    return JSONResponse(status_code=status_code, content=content)
