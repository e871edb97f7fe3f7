"""Verifying the gateway's JWTs inside each service, and saying in each endpoint who may call it.

Services trust no header but the token: the gateway checks it first, and every service checks
it again with the gateway's public key, so a request that bypasses the gateway gets nowhere.

Usage in a router (authorization visible in the signature)::

    InsurerWriter = Annotated[Principal, Depends(authorize(Role.INSURER, scopes=("policy:write",)))]

    @router.post("/things")
    async def create(principal: InsurerWriter, session: SessionDep): ...
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.auth import JWT_ALGORITHM
from contracts.enums import Industry, Role
from kernel.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="Access token from the gateway's POST /oauth/token")


@dataclass(frozen=True)
class Principal:
    """Who is calling: one API client acting for one tenant."""

    client_id: str
    role: Role
    tenant: str
    scopes: frozenset[str]
    industries: frozenset[Industry]
    token_id: str

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class TokenVerifier:
    """Verifies access tokens, and remembers each verified one until its ``exp``.

    A client sends the same token for its whole lifetime, and checking it (Ed25519 and PyJWT's
    parsing) was the largest single cost of a request. A remembered token is answered only before
    its ``exp``; from then on it is verified again and refused as an expired one. A token that
    fails is never remembered. Revocation is the gateway's business, checked on every request there.
    """

    MAX_REMEMBERED = 10_000

    def __init__(self, public_key_file: Path, issuer: str, audience: str) -> None:
        self.public_key_file = public_key_file
        self.issuer = issuer
        self.audience = audience
        self._key = None
        self._remembered: dict[str, tuple[Principal, float]] = {}

    def _public_key(self):
        if self._key is None:
            self._key = self.public_key_file.read_bytes()
        return self._key

    def verify(self, token: str) -> Principal:
        known = self._remembered.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires = self._verify(token)  # raises for a bad, expired or ill-formed token: nothing remembered
        if len(self._remembered) >= self.MAX_REMEMBERED:
            self._remembered.clear()
        self._remembered[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._public_key(),
                algorithms=[JWT_ALGORITHM],  # a fixed list: "none" and HS/RS confusion are refused
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("auth.token_expired", "访问令牌已过期", "The access token has expired", field="Authorization")
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("auth.token_invalid", "访问令牌无效", f"The access token is invalid: {exc}", field="Authorization")
        try:
            industries = claims.get("industries", [])
            scope = claims.get("scope", "")
            tenant = claims["tenant"]
            # A signed token is still input: claims of the wrong type are refused, never a 500.
            if not isinstance(industries, list) or not isinstance(scope, str) or not isinstance(tenant, str) or not tenant:
                raise ValueError("claim of the wrong type")
            principal = Principal(
                client_id=claims["sub"],
                role=Role(claims["role"]),
                tenant=tenant,
                scopes=frozenset(scope.split()),
                industries=frozenset(Industry(i) for i in industries),
                token_id=claims["jti"],
            )
            return principal, float(claims["exp"])
        except (KeyError, ValueError, TypeError):
            raise Unauthorized("auth.token_claims", "访问令牌缺少必需的声明", "The access token lacks required claims", field="Authorization")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("auth.token_missing", "缺少访问令牌", "A bearer access token is required", field="Authorization")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


Authenticated = Annotated[Principal, Depends(current_principal)]


def authorize(*roles: Role, scopes: tuple[str, ...] = ()):
    """A dependency that admits only the given roles (any, when none given) holding every scope."""
    allowed = frozenset(roles)

    async def dependency(principal: Authenticated) -> Principal:
        if allowed and principal.role not in allowed:
            raise Forbidden(
                "auth.role_not_allowed",
                f"角色 {principal.role.value} 无权执行此操作",
                f"Role {principal.role.value} may not do this",
                field="role",
            )
        missing = [s for s in scopes if not principal.has_scope(s)]
        if missing:
            raise Forbidden("auth.scope_missing", f"缺少权限范围 {' '.join(missing)}", f"Missing scope {' '.join(missing)}", field="scope")
        return principal

    # Read by the access-matrix generator (devstack/access_matrix.py) to document who may call what.
    dependency.allowed_roles = allowed  # type: ignore[attr-defined]
    dependency.required_scopes = tuple(scopes)  # type: ignore[attr-defined]
    return dependency
