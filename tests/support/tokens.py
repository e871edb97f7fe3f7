"""Signed access tokens for tests that call a service without the gateway (same claims, real EdDSA)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.auth import JWT_ALGORITHM, ROLE_SCOPES
from contracts.enums import Role

ISSUER = "anzexian-gateway"
AUDIENCE = "anzexian-api"


class TokenMint:
    def __init__(self, directory: Path) -> None:
        self.private_key = Ed25519PrivateKey.generate()
        directory.mkdir(parents=True, exist_ok=True)
        self.public_key_file = directory / "jwt-public.pem"
        self.public_key_file.write_bytes(
            self.private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    def token(self, role: Role, tenant: str, *, industries: tuple[str, ...] = (), scopes: tuple[str, ...] | None = None, ttl: int = 600) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"test-{role.value}-{tenant}",
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "role": role.value,
            "tenant": tenant,
            "industries": list(industries),
            "scope": " ".join(ROLE_SCOPES[role] if scopes is None else scopes),
        }
        return jwt.encode(claims, self.private_key, algorithm=JWT_ALGORITHM)

    def headers(self, role: Role, tenant: str, **kwargs) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, tenant, **kwargs)}"}
