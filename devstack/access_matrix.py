"""The access matrix: every role against every operation of every service, read from the code.

Each route's ``authorize(...)`` dependency (kernel/auth.py) names the roles it admits and the
scopes they must hold; this module walks every service app's routes and their dependency trees
and renders that as a table. ``python -m devstack.access_matrix --write`` regenerates
``docs/access-matrix.md``; a test fails when the document is stale, and another walks the whole
table against running services (allowed where it says so, refused everywhere else).

Roles are only the first gate: within an allowed role, tenant rules still apply (an insurer sees
its own book, a bureau its own industries), as the "Within the role" notes of the document say.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from fastapi.routing import APIRoute

from contracts.enums import Role

SERVICES = ("policy", "claims", "prevention", "monitoring")
DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "access-matrix.md"
ROLES = tuple(Role)


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str  # as the service serves it; the gateway adds /api/v1/<service>
    summary: str
    public: bool  # no token needed
    roles: frozenset[Role]  # admitted roles (all roles when the route only needs a valid token)
    scopes: tuple[str, ...]

    @property
    def gateway_path(self) -> str:
        return f"/api/v1/{self.service}{self.path}"


def _walk(dependant, found: list) -> bool:
    """Collect authorize() dependencies; return whether any dependency needs a token at all."""
    needs_token = False
    for sub in dependant.dependencies:
        call = sub.call
        if hasattr(call, "allowed_roles"):
            found.append(call)
        if getattr(call, "__name__", "") == "current_principal":
            needs_token = True
        needs_token = _walk(sub, found) or needs_token
    return needs_token


def _api_routes(routes) -> list[APIRoute]:
    """The app's API routes, looking inside included routers (FastAPI ≥ 0.16x includes them lazily)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def operations_of(service: str, app=None) -> list[Operation]:
    if app is None:
        app = importlib.import_module(f"services.{service}.app").create_app()
    ops: list[Operation] = []
    for route in _api_routes(app.routes):
        if not route.include_in_schema:
            continue
        gates: list = []
        needs_token = _walk(route.dependant, gates)
        roles: frozenset[Role] = frozenset(ROLES)
        scopes: tuple[str, ...] = ()
        for gate in gates:  # nested gates narrow each other
            if gate.allowed_roles:
                roles &= gate.allowed_roles
            scopes += tuple(s for s in gate.required_scopes if s not in scopes)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            ops.append(Operation(service, method, route.path, route.summary or route.name, not (needs_token or gates), roles, scopes))
    return sorted(ops, key=lambda o: (o.path, o.method))


def all_operations() -> list[Operation]:
    return [op for service in SERVICES for op in operations_of(service)]


TENANT_NOTES = {
    "policy": "An insurer sees and changes only its own enterprises' policies, quotes and receipts; a bureau verifies only enterprises of its own industries.",
    "claims": "An insurer sees and handles only claims on its own policies.",
    "prevention": "An insurer sees its own institutions' filings, records, hazards and fund; a service institution only the work it did.",
    "monitoring": "A bureau sees only its own industries (ledgers, coverage, registry); `/public/...` shows only what the emergency management bureau published.",
}


def render(operations: list[Operation]) -> str:
    header = "| Operation | " + " | ".join(f"`{r.value}`" for r in ROLES) + " | Scopes |"
    rule = "| --- |" + " :-: |" * len(ROLES) + " --- |"
    lines = [
        "# Access matrix 权限矩阵",
        "",
        "Generated from the code by `python -m devstack.access_matrix --write`; do not edit by hand.",
        "`tests/platform/test_access_matrix.py` fails when this file is stale and walks every cell",
        "against the running services: ✓ is admitted, · is refused with 403, and every operation",
        "that is not public refuses a request without a token with 401.",
        "",
        "Paths are the gateway's. ✓ means the role passes the role and scope gate; tenant rules then",
        "apply within it (see *Within the role* under each service).",
    ]
    for service in SERVICES:
        ops = [o for o in operations if o.service == service]
        lines += ["", f"## {service}", "", f"*Within the role:* {TENANT_NOTES[service]}", "", header, rule]
        for op in ops:
            cells = ["public" if op.public else ("✓" if role in op.roles else "·") for role in ROLES]
            scopes = " ".join(f"`{s}`" for s in op.scopes) or "—"
            lines.append(f"| `{op.method} {op.gateway_path}` | " + " | ".join(cells) + f" | {scopes} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT}")
    args = parser.parse_args(argv)
    text = render(all_operations())
    if args.write:
        DOCUMENT.write_text(text, encoding="utf-8")
        print(f"wrote {DOCUMENT}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
