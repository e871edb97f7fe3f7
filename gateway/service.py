"""Use cases of the gateway: API clients (接入方) and the client-credentials grant.

Each function takes the session first and leaves committing to its caller (the request's session
dependency, or the CLI), so a use case is one transaction.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.auth import ROLE_SCOPES
from contracts.enums import Industry, Role
from gateway.errors import OAuthError
from gateway.models import ApiClient
from gateway.schemas import TokenResponse
from gateway.tokens import TokenIssuer
from kernel.errors import DomainError, NotFound, Violation

_hasher = PasswordHasher()
# Longer than any secret we hand out; refusing early keeps a huge "secret" from costing a hash.
_MAX_SECRET_LENGTH = 256


def _utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Verified against when the client id is unknown, so a wrong id costs as long as a wrong secret
    # and response times do not tell which client ids exist.
    return _hasher.hash(secrets.token_urlsafe(32))


def _client_rules(
    name: str, role: str, tenant: str, industries: Iterable[str], scopes: Sequence[str] | None
) -> tuple[Role, list[str], list[str]]:
    """Check a new client's fields; every broken rule is reported at once."""
    violations: list[Violation] = []
    if not name.strip():
        violations.append(Violation("name", "gateway.client.name_required", "接入方名称不能为空", "A client needs a name"))
    if not tenant.strip():
        violations.append(Violation("tenant", "gateway.client.tenant_required", "必须指定所属机构（租户）", "A client needs a tenant"))
    try:
        parsed_role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise DomainError("gateway.client.role_unknown", f"角色必须是 {allowed} 之一", f"Role must be one of {allowed}", field="role")

    codes: list[str] = []
    for code in industries:
        try:
            value = Industry(code.strip().upper()).value
        except ValueError:
            violations.append(
                Violation("industries", "gateway.client.industry_unknown", f"未知的行业代码 {code}", f"Unknown industry code {code}")
            )
            continue
        if value not in codes:
            codes.append(value)
    if parsed_role is Role.BUREAU and not codes and not violations:
        violations.append(
            Violation("industries", "gateway.client.industries_required", "行业主管部门必须指定其主管行业", "A bureau client must name its industries")
        )
    if parsed_role is not Role.BUREAU and codes:
        violations.append(
            Violation(
                "industries",
                "gateway.client.industries_not_allowed",
                "只有行业主管部门可以指定行业",
                "Only a bureau client may have industries",
            )
        )

    role_scopes = ROLE_SCOPES[parsed_role]
    if scopes is None:
        granted = list(role_scopes)
    else:
        beyond = [s for s in scopes if s not in role_scopes]
        if beyond:
            violations.append(
                Violation(
                    "scopes",
                    "gateway.client.scope_beyond_role",
                    f"权限范围 {' '.join(beyond)} 超出角色 {parsed_role.value} 的权限",
                    f"Scopes {' '.join(beyond)} exceed what role {parsed_role.value} may hold",
                )
            )
        # Kept in the role's own order so tokens read the same whichever order the operator typed.
        granted = [s for s in role_scopes if s in scopes]
        if not granted and not beyond:
            violations.append(Violation("scopes", "gateway.client.scopes_empty", "至少需要一个权限范围", "A client needs at least one scope"))
    if violations:
        first = violations[0]
        raise DomainError(first.rule, first.message_zh, first.message_en, field=first.field, violations=violations)
    return parsed_role, codes, granted


async def create_client(
    session: AsyncSession,
    *,
    name: str,
    role: str,
    tenant: str,
    industries: Iterable[str] = (),
    scopes: Sequence[str] | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> tuple[ApiClient, str]:
    """Register an API client; returns it with its plaintext secret, which is never stored nor shown again."""
    parsed_role, codes, granted = _client_rules(name, role, tenant, industries, scopes)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"cl_{secrets.token_hex(12)}",
        name=name.strip(),
        role=parsed_role.value,
        tenant=tenant.strip(),
        industries=codes,
        scopes=granted,
        secret_hash=await asyncio.to_thread(_hasher.hash, secret),
        created_at=clock(),
        revoked_at=None,
    )
    session.add(client)
    await session.flush()
    return client, secret


async def list_clients(session: AsyncSession) -> list[ApiClient]:
    return list((await session.scalars(select(ApiClient).order_by(ApiClient.created_at, ApiClient.client_id))).all())


async def revoke_client(session: AsyncSession, client_id: str, *, clock: Callable[[], datetime] = _utcnow) -> ApiClient:
    """Stop a client for good: no new tokens, and the gateway refuses the ones it already holds."""
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise NotFound("gateway.client.not_found", f"接入方 {client_id} 不存在", f"No client {client_id}", field="client_id")
    if client.revoked_at is None:
        client.revoked_at = clock()
        await session.flush()
    return client


async def revoked_client_ids(session: AsyncSession) -> frozenset[str]:
    return frozenset((await session.scalars(select(ApiClient.client_id).where(ApiClient.revoked_at.is_not(None)))).all())


async def authenticate(session: AsyncSession, client_id: str, secret: str) -> ApiClient | None:
    """The client these credentials prove, or None (unknown id, wrong secret, revoked) without saying which."""
    if not client_id or not secret or len(secret) > _MAX_SECRET_LENGTH or len(client_id) > 64:
        return None
    client = await session.get(ApiClient, client_id)
    stored = client.secret_hash if client is not None else _decoy_hash()
    try:
        # Argon2 is deliberately slow; a thread keeps it from stalling every other request.
        await asyncio.to_thread(_hasher.verify, stored, secret)
    except (VerificationError, InvalidHashError):
        return None
    if client is None or client.is_revoked:
        return None
    if _hasher.check_needs_rehash(client.secret_hash):
        client.secret_hash = await asyncio.to_thread(_hasher.hash, secret)
    return client


async def issue_token(
    session: AsyncSession, issuer: TokenIssuer, *, client_id: str, client_secret: str, scope: str | None
) -> TokenResponse:
    """RFC 6749 §4.4 client credentials: prove the client, narrow its scopes if asked, sign a token."""
    client = await authenticate(session, client_id, client_secret)
    if client is None:
        raise OAuthError("invalid_client", "接入方认证失败", "Client authentication failed", field="client_id")
    requested = (scope or "").split()
    beyond = [s for s in requested if s not in client.scopes]
    if beyond:
        raise OAuthError(
            "invalid_scope",
            f"请求的权限范围 {' '.join(beyond)} 超出该接入方的权限",
            f"Requested scope {' '.join(beyond)} exceeds what this client holds",
            field="scope",
        )
    granted = [s for s in client.scopes if s in requested] if requested else list(client.scopes)
    token = issuer.issue(client, granted)
    return TokenResponse(access_token=token, token_type="Bearer", expires_in=issuer.ttl_seconds, scope=" ".join(granted))
