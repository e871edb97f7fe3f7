"""Settings, signing keys and client administration (service rules and the operator's CLI)."""

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.auth import ROLE_SCOPES
from contracts.enums import Role
from gateway.cli import create_client_in, list_clients_in
from gateway.keys import ensure_keypair, load_private_key, public_pem
from gateway.settings import Settings
from gateway.tokens import SigningKeyError, TokenIssuer
from kernel.errors import DomainError
from kernel.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]


# --- settings and keys ---------------------------------------------------------------------------------


def test_prefixed_and_shared_environment_names_both_apply(monkeypatch):
    monkeypatch.setenv("GATEWAY_POLICY_URL", "http://policy:8001/")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT", "5/second")
    monkeypatch.setenv("JWT_ISSUER", "issuer-under-test")
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", "/keys/pub.pem")
    settings = Settings()
    assert settings.policy_url == "http://policy:8001/"
    assert settings.service_urls()["policy"] == "http://policy:8001"
    assert settings.rate_limit == "5/second"
    assert settings.jwt_issuer == "issuer-under-test"
    assert str(settings.jwt_public_key_file) == "/keys/pub.pem"
    assert settings.database_url == "sqlite+aiosqlite:///var/gateway.db"


def test_keypair_is_written_once_with_a_private_private_key(tmp_path):
    private, public = ensure_keypair(tmp_path / "keys")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_bytes() == public_pem(load_private_key(private))
    before = private.read_bytes(), public.read_bytes()
    assert ensure_keypair(tmp_path / "keys") == (private, public)
    assert (private.read_bytes(), public.read_bytes()) == before


def test_keys_command_generates_a_pair(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gateway.keys", "generate", "--dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "jwt-private.pem").exists() and (tmp_path / "jwt-public.pem").exists()


def test_gateway_refuses_a_public_key_that_does_not_match(tmp_path):
    private, _ = ensure_keypair(tmp_path / "a")
    _, other_public = ensure_keypair(tmp_path / "b")
    with pytest.raises(SigningKeyError, match="does not match"):
        TokenIssuer.from_files(private, other_public, issuer="i", audience="a", ttl_seconds=60)


# --- client rules ---------------------------------------------------------------------------------------


def rule_of(exc: pytest.ExceptionInfo) -> set[str]:
    return {v.rule for v in exc.value.violations}


async def test_bureau_must_name_its_industries(gateway_env):
    with pytest.raises(DomainError) as exc:
        await create_client_in(gateway_env.database_url, "住建委", "bureau", "BJ-ZJW")
    assert rule_of(exc) == {"gateway.client.industries_required"}


async def test_only_a_bureau_may_have_industries(gateway_env):
    with pytest.raises(DomainError) as exc:
        await create_client_in(gateway_env.database_url, "保险", "insurer", "INS", industries=["MINE"])
    assert rule_of(exc) == {"gateway.client.industries_not_allowed"}


async def test_unknown_industry_is_refused(gateway_env):
    with pytest.raises(DomainError) as exc:
        await create_client_in(gateway_env.database_url, "局", "bureau", "B", industries=["BAKERY"])
    assert rule_of(exc) == {"gateway.client.industry_unknown"}


async def test_scopes_may_be_narrowed_never_widened(gateway_env):
    narrowed = await create_client_in(gateway_env.database_url, "只读", "insurer", "INS", scopes=["claims:read", "policy:read"])
    assert narrowed["scopes"] == ["policy:read", "claims:read"]
    with pytest.raises(DomainError) as exc:
        await create_client_in(gateway_env.database_url, "越权", "service_org", "ORG", scopes=["prevention:read", "monitoring:write"])
    assert rule_of(exc) == {"gateway.client.scope_beyond_role"}


async def test_secret_is_stored_only_as_an_argon2_hash(gateway_env):
    created = await create_client_in(gateway_env.database_url, "哈希", "municipal_platform", "CITY")
    listed = {c["client_id"]: c for c in await list_clients_in(gateway_env.database_url)}
    assert "client_secret" not in listed[created["client_id"]]
    assert created["scopes"] == list(ROLE_SCOPES[Role.MUNICIPAL_PLATFORM])


# --- the CLI --------------------------------------------------------------------------------------------


async def run_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    """The CLI in its own process, as an operator runs it (asyncio, so independent runs overlap)."""
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "LOG_JSON": "false"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_creates_lists_and_revokes_clients(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    await asyncio.to_thread(upgrade, "gateway", url)
    (code, out, err), (refused_code, _, refused_err), (missing_code, _, _) = await asyncio.gather(
        run_cli(url, "create", "--name", "北京住建委", "--role", "bureau", "--tenant", "BJ-ZJW", "--industry", "CONSTRUCTION", "--json"),
        run_cli(url, "create", "--name", "x", "--role", "insurer", "--tenant", "t", "--scope", "events:read"),
        run_cli(url, "revoke", "cl_missing"),
    )
    assert code == 0, err
    client = json.loads(out)
    assert set(client) == {"client_id", "client_secret", "name", "role", "tenant", "industries", "scopes"}
    assert client["industries"] == ["CONSTRUCTION"] and client["role"] == "bureau" and client["name"] == "北京住建委"
    assert client["scopes"] == list(ROLE_SCOPES[Role.BUREAU])
    assert refused_code == 1 and "gateway.client.scope_beyond_role" in refused_err
    assert missing_code == 1

    code, out, err = await run_cli(url, "list", "--json")
    assert code == 0, err
    [entry] = json.loads(out)
    assert entry["client_id"] == client["client_id"] and entry["revoked_at"] is None
    assert client["client_secret"] not in out

    code, out, err = await run_cli(url, "revoke", client["client_id"], "--json")
    assert code == 0, err
    assert json.loads(out)["revoked_at"] is not None
    [entry] = await list_clients_in(url)
    assert entry["revoked_at"] is not None


async def test_cli_says_the_database_needs_migrating(tmp_path):
    code, _, err = await run_cli(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "list")
    assert code == 2
    assert "python -m kernel.migrate gateway" in err
    assert not (tmp_path / "empty.db").exists()
