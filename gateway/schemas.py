"""Request and response shapes of the gateway's own endpoints and of its client administration."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 successful token response (访问令牌)."""

    access_token: str = Field(description="EdDSA-signed JWT to send as `Authorization: Bearer …`")
    token_type: str = Field("Bearer", description="Always `Bearer`")
    expires_in: int = Field(description="Seconds until the token expires")
    scope: str = Field(description="Space-separated scopes granted (may be fewer than the client holds)")


class OAuthProblem(BaseModel):
    """RFC 6749 §5.2 error body, with our problem-details fields beside it."""

    error: str = Field(description="invalid_request, invalid_client, invalid_grant, unsupported_grant_type or invalid_scope")
    error_description: str
    type: str
    title: str
    status: int
    detail: str | None = None
    detail_zh: str | None = None
    request_id: str | None = None
    errors: list[dict] = Field(default_factory=list, description="field, rule, message_zh, message_en of each broken rule")


class PublicJwk(BaseModel):
    kty: str = "OKP"
    crv: str = "Ed25519"
    x: str
    kid: str
    use: str = "sig"
    alg: str = "EdDSA"


class Jwks(BaseModel):
    """RFC 7517 JSON Web Key Set: the keys that verify the gateway's tokens."""

    keys: list[PublicJwk]


class ClientView(BaseModel):
    """An API client as an operator sees it (never with its secret)."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    name: str
    role: str
    tenant: str
    industries: list[str]
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None

    @field_validator("created_at", "revoked_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # SQLite hands timestamps back without their zone; they were written in UTC.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class ClientCredentials(BaseModel):
    """What `create` prints once: the new client and its plaintext secret."""

    client_id: str
    client_secret: str
    name: str
    role: str
    tenant: str
    industries: list[str]
    scopes: list[str]
