"""The access-token contract between the gateway (which signs) and the services (which verify).

A token is a JWT signed with EdDSA (Ed25519) carrying: ``sub`` (client id), ``role``,
``tenant`` (which insurer, bureau, institution… the client acts for), ``industries`` (a
bureau's industries), ``scope`` (space-separated), ``iss``, ``aud``, ``iat``, ``exp``, ``jti``.
"""

from __future__ import annotations

from contracts.enums import Role

JWT_ALGORITHM = "EdDSA"

# Scopes are "<area>:<read|write>". A client gets its role's scopes unless created with fewer.
ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.INSURER: ("policy:read", "policy:write", "claims:read", "claims:write", "prevention:read", "prevention:write"),
    Role.SERVICE_ORG: ("prevention:read", "prevention:write", "policy:read"),
    Role.BUREAU: ("monitoring:read", "ledgers:read", "registry:write"),
    Role.EMERGENCY_ADMIN: ("monitoring:read", "monitoring:write", "ledgers:read", "evaluation:write", "policy:read", "claims:read", "prevention:read"),
    Role.FINANCE_REGULATOR: ("monitoring:read", "ledgers:read", "policy:read", "claims:read", "prevention:read"),
    Role.MUNICIPAL_PLATFORM: ("events:read",),
}
