"""Who may call what in the policy service (authorization visible in every endpoint's signature)."""

from typing import Annotated

from fastapi import Depends

from contracts.enums import Role
from kernel.auth import Principal, authorize

# Insurers do the business 承保业务; only they write.
InsurerWriter = Annotated[Principal, Depends(authorize(Role.INSURER, scopes=("policy:write",)))]
EnterpriseWriter = InsurerWriter
EnterpriseReader = Annotated[
    Principal,
    Depends(authorize(Role.INSURER, Role.SERVICE_ORG, Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, scopes=("policy:read",))),
]
# Quotes and policies: an insurer its own book, the emergency bureau and the financial regulator all.
PolicyReader = Annotated[
    Principal, Depends(authorize(Role.INSURER, Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, scopes=("policy:read",)))
]
# Verification 投保核验 for inspectors: bureaus (their industries only) carry no policy scope, so none is required.
Verifier = Annotated[
    Principal, Depends(authorize(Role.BUREAU, Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, Role.INSURER))
]
# Rosters hold resident ID numbers: insurers see their own clients' (checked in the use case), regulators all.
RosterReader = Annotated[
    Principal, Depends(authorize(Role.INSURER, Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, scopes=("policy:read",)))
]
