"""Who may call what in the prevention service (authorization visible in every endpoint's signature)."""

from typing import Annotated

from fastapi import Depends

from contracts.enums import Role
from kernel.auth import Principal, authorize

# Insurers and the technical service institutions they entrust do the work and record it.
PreventionWriter = Annotated[Principal, Depends(authorize(Role.INSURER, Role.SERVICE_ORG, scopes=("prevention:write",)))]
# Insurers file and evaluate institutions and keep the prevention-fund ledger.
InsurerWriter = Annotated[Principal, Depends(authorize(Role.INSURER, scopes=("prevention:write",)))]
# The emergency management bureau keeps the dishonesty list 失信名单.
DishonestyKeeper = Annotated[Principal, Depends(authorize(Role.EMERGENCY_ADMIN, scopes=("prevention:read",)))]
# Readers: the parties themselves (their own records only) and the regulators (all).
PreventionReader = Annotated[
    Principal,
    Depends(authorize(Role.INSURER, Role.SERVICE_ORG, Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, scopes=("prevention:read",))),
]
FundReader = Annotated[
    Principal, Depends(authorize(Role.INSURER, Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, scopes=("prevention:read",)))
]
