"""The access matrix in docs/access-matrix.md is current, and every cell of it holds against the running services.

For each service (a real app on a real port, SQLite, no broker needed) and each operation in the
table, a request is made with a valid token for every role: a role the table refuses gets 403
with the role or scope rule; a role it admits is never refused by that gate (it may still meet a
tenant rule, a 404 for a dummy id, or a 422 for an empty body), and nothing answers 5xx. Without
a token every non-public operation answers 401. Cross-tenant reads and writes are walked in each
service's own tests and in tests/platform/test_policy_through_gateway.py; here two are checked
with real data: insurer B on insurer A's policy, and a transport bureau on the construction ledger.
"""

from __future__ import annotations

import re

import httpx
import pytest

from contracts.enums import Role
from devstack.access_matrix import DOCUMENT, SERVICES, all_operations, operations_of, render
from devstack.broker import free_port
from tests.conftest import running_service

GATE_RULES = {"urn:anzexian:problem:auth.role_not_allowed", "urn:anzexian:problem:auth.scope_missing"}
TENANTS = {role: f"T-{role.value}" for role in Role}


def test_the_document_is_current():
    assert DOCUMENT.read_text(encoding="utf-8") == render(all_operations()), "run: python -m devstack.access_matrix --write"


def _concrete(path: str) -> str:
    # A dummy value for every path parameter: the gate runs before any lookup.
    return re.sub(r"\{[^}]+\}", "X0000000000000000", path)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_cell_of_the_table_holds(service, sqlite_databases, token_mint):
    url = await sqlite_databases.create(service)
    async with running_service(service, url, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False) as server:
        operations = operations_of(service)
        assert operations, f"{service} has no operations"
        checked = 0
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            for op in operations:
                path = _concrete(op.path)
                body = {} if op.method in {"POST", "PUT", "PATCH"} else None
                if not op.public:
                    anonymous = await client.request(op.method, path, json=body)
                    assert anonymous.status_code == 401, f"{op.method} {op.path} without a token: {anonymous.status_code}"
                for role in Role:
                    headers = token_mint.headers(role, TENANTS[role], industries=("CONSTRUCTION",) if role is Role.BUREAU else ())
                    response = await client.request(op.method, path, json=body, headers=headers)
                    where = f"{op.method} {op.path} as {role.value}: {response.status_code} {response.text[:200]}"
                    assert response.status_code < 500, where
                    gate_refused = response.status_code == 403 and response.json().get("type") in GATE_RULES
                    if op.public or role in op.roles:
                        assert not gate_refused and response.status_code != 401, where
                    else:
                        assert gate_refused, where
                    checked += 1
        assert checked == len(operations) * len(Role)
