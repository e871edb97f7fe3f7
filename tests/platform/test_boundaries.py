"""Each service owns its code and data: no service imports another service or the gateway."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("policy", "claims", "prevention", "monitoring")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_only_itself_contracts_and_kernel(service):
    foreign = [f"services.{s}" for s in SERVICES if s != service] + ["gateway", "devstack"]
    for path in (ROOT / "services" / service).rglob("*.py"):
        for name in _imports(path):
            assert not any(name == f or name.startswith(f + ".") for f in foreign), f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("package", ["kernel", "contracts"])
def test_shared_packages_import_no_service(package):
    for path in (ROOT / package).rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(("services", "gateway", "devstack")), f"{path.relative_to(ROOT)} imports {name}"


def test_gateway_imports_no_service():
    for path in (ROOT / "gateway").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith("services"), f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_its_own_database_setting_and_migrations(service):
    module = __import__(f"services.{service}.settings", fromlist=["Settings"])
    assert module.Settings.model_config["env_prefix"] == f"{service.upper()}_"
    assert f"var/{service}.db" in module.Settings().database_url
    assert list((ROOT / "services" / service / "migrations" / "versions").glob("*.py"))
