"""Who may call what in the monitoring hub."""

from typing import Annotated

from fastapi import Depends

from contracts.enums import Role
from kernel.auth import Principal, authorize
from kernel.errors import Forbidden

OversightReader = Annotated[
    Principal,
    Depends(authorize(Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, Role.BUREAU, scopes=("monitoring:read",))),
]

# The municipal platform (市级平台) manages its own push subscriptions.
SubscriptionManager = Annotated[Principal, Depends(authorize(Role.MUNICIPAL_PLATFORM, scopes=("events:read",)))]

# Industry bureaus (行业主管部门) upload their lists of mandatory enterprises.
RegistryWriter = Annotated[Principal, Depends(authorize(Role.BUREAU, scopes=("registry:write",)))]

_FEED_SCOPE = {Role.MUNICIPAL_PLATFORM: "events:read", Role.EMERGENCY_ADMIN: "monitoring:read"}


async def _feed_reader(
    principal: Annotated[Principal, Depends(authorize(Role.MUNICIPAL_PLATFORM, Role.EMERGENCY_ADMIN))],
) -> Principal:
    scope = _FEED_SCOPE[principal.role]
    if not principal.has_scope(scope):
        raise Forbidden("auth.scope_missing", f"缺少权限范围 {scope}", f"Missing scope {scope}", field="scope")
    return principal


# The pull feed: the municipal platform (events:read) and the emergency management bureau (monitoring:read).
FeedReader = Annotated[Principal, Depends(_feed_reader)]
