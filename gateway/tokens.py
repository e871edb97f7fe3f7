"""Signing access tokens (EdDSA JWTs, claims per ``contracts.auth``) and publishing the key that verifies them."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from contracts.auth import JWT_ALGORITHM
from gateway.keys import load_private_key, load_public_key
from gateway.models import ApiClient


class SigningKeyError(RuntimeError):
    """The gateway cannot sign tokens that the services will accept."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint: a key id every party can recompute from the key itself."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._private_key = private_key
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        jwk = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        self.public_jwk = {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"]}
        self.kid = _thumbprint(self.public_jwk)

    @classmethod
    def from_files(
        cls, private_key_file: Path, public_key_file: Path, *, issuer: str, audience: str, ttl_seconds: int
    ) -> TokenIssuer:
        """Load the signing key, refusing to start if the services' public key is not its other half."""
        if not private_key_file.exists():
            raise SigningKeyError(
                f"no token signing key at {private_key_file}: run `python -m gateway.keys generate --dir {private_key_file.parent}`"
            )
        private_key = load_private_key(private_key_file)
        if not public_key_file.exists():
            raise SigningKeyError(f"no public key at {public_key_file} (JWT_PUBLIC_KEY_FILE) for the services to verify with")
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        if load_public_key(public_key_file).public_bytes(*raw) != private_key.public_key().public_bytes(*raw):
            raise SigningKeyError(
                f"{public_key_file} (JWT_PUBLIC_KEY_FILE) does not match {private_key_file}: tokens would not verify"
            )
        return cls(private_key, issuer=issuer, audience=audience, ttl_seconds=ttl_seconds)

    def issue(self, client: ApiClient, scopes: Sequence[str]) -> str:
        now = self.clock()
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client.client_id,
            "client_id": client.client_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
            "jti": uuid.uuid4().hex,
            "role": client.role,
            "tenant": client.tenant,
            "industries": list(client.industries or []),
            "scope": " ".join(scopes),
            "client_name": client.name,
        }
        # typ "at+jwt" (RFC 9068) keeps an access token from being mistaken for another kind of JWT.
        return jwt.encode(claims, self._private_key, algorithm=JWT_ALGORITHM, headers={"kid": self.kid, "typ": "at+jwt"})

    def jwks(self) -> dict:
        return {"keys": [{**self.public_jwk, "kid": self.kid, "use": "sig", "alg": JWT_ALGORITHM}]}
