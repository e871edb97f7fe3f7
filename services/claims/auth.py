"""Who may call what in the claims service (authorization visible in every endpoint's signature)."""

from typing import Annotated

from fastapi import Depends

from contracts.enums import Role
from kernel.auth import Principal, authorize

# Insurers handle their own claims 理赔; regulators read all.
ClaimWriter = Annotated[Principal, Depends(authorize(Role.INSURER, scopes=("claims:write",)))]
ClaimReader = Annotated[
    Principal, Depends(authorize(Role.INSURER, Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, scopes=("claims:read",)))
]
