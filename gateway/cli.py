"""Operators' tool for API clients (接入方): ``python -m gateway.cli create|list|revoke`` against ``GATEWAY_DATABASE_URL``.

    python -m gateway.cli create --name "某保险公司" --role insurer --tenant PICC-BJ --json
    python -m gateway.cli create --name "住建委" --role bureau --tenant BJ-ZJW --industry CONSTRUCTION
    python -m gateway.cli list --json
    python -m gateway.cli revoke cl_0123456789abcdef01234567

The secret is printed once, at creation; only its Argon2 hash is kept. The database must be
migrated first (``python -m kernel.migrate gateway``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import Industry, Role
from gateway import service
from gateway.models import ApiClient
from gateway.schemas import ClientCredentials, ClientView
from gateway.settings import Settings
from kernel.database import create_engine, create_sessionmaker, is_sqlite
from kernel.errors import DomainError

T = TypeVar("T")


class DatabaseNotMigrated(RuntimeError):
    """The gateway database has no clients table yet."""


def _not_migrated(database_url: str) -> DatabaseNotMigrated:
    return DatabaseNotMigrated(
        f"the gateway database ({make_url(database_url).render_as_string(hide_password=True)}) has no "
        f"{ApiClient.__tablename__} table: run `python -m kernel.migrate gateway` first"
    )


async def _in_session(database_url: str, use_case: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one use case in one committed transaction, after making sure the table is there."""
    if is_sqlite(database_url):
        path = make_url(database_url).database
        # Opening a missing SQLite file would quietly create an empty database; say what is wrong instead.
        if path and path != ":memory:" and not Path(path).exists():
            raise _not_migrated(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            if not await conn.run_sync(lambda sync: inspect(sync).has_table(ApiClient.__tablename__)):
                raise _not_migrated(database_url)
        async with create_sessionmaker(engine)() as session:
            result = await use_case(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


async def create_client_in(
    database_url: str,
    name: str,
    role: str,
    tenant: str,
    industries: Iterable[str] = (),
    scopes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Create a client and return ``{"client_id", "client_secret", "name", "role", "tenant", "industries", "scopes"}``.

    For the launcher and tests: the same thing as ``python -m gateway.cli create --json``.
    Raises :class:`kernel.errors.DomainError` for a client that breaks a rule, and
    :class:`DatabaseNotMigrated` when the database has no clients table.
    """

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        client, secret = await service.create_client(
            session, name=name, role=role, tenant=tenant, industries=industries, scopes=None if scopes is None else list(scopes)
        )
        view = ClientView.model_validate(client)
        return ClientCredentials(client_secret=secret, **view.model_dump(include=set(ClientCredentials.model_fields))).model_dump()

    return await _in_session(database_url, use_case)


async def list_clients_in(database_url: str) -> list[dict[str, Any]]:
    async def use_case(session: AsyncSession) -> list[dict[str, Any]]:
        return [ClientView.model_validate(c).model_dump(mode="json") for c in await service.list_clients(session)]

    return await _in_session(database_url, use_case)


async def revoke_client_in(database_url: str, client_id: str) -> dict[str, Any]:
    async def use_case(session: AsyncSession) -> dict[str, Any]:
        return ClientView.model_validate(await service.revoke_client(session, client_id)).model_dump(mode="json")

    return await _in_session(database_url, use_case)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway.cli", description="Manage the gateway's API clients (接入方).")
    parser.add_argument("--database-url", help="default: GATEWAY_DATABASE_URL or the gateway's settings")
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create", help="register a client and print its id and secret (shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--tenant", required=True, help="the insurer, bureau, institution… the client acts for")
    create.add_argument(
        "--industry", action="append", default=[], metavar="CODE", help=f"a bureau's industry (repeat): {', '.join(i.value for i in Industry)}"
    )
    create.add_argument("--scope", action="append", metavar="SCOPE", help="narrow the role's scopes (repeat); default: all of the role's")
    create.add_argument("--json", action="store_true", help="print one JSON object")

    listing = commands.add_parser("list", help="list clients (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print a JSON array")

    revoke = commands.add_parser("revoke", help="revoke a client: no new tokens, existing ones refused by the gateway")
    revoke.add_argument("client_id")
    revoke.add_argument("--json", action="store_true")
    return parser


def _print_clients(clients: list[dict[str, Any]]) -> None:
    if not clients:
        print("no clients")
        return
    for c in clients:
        state = f"revoked {c['revoked_at']}" if c["revoked_at"] else "active"
        industries = f" industries={','.join(c['industries'])}" if c["industries"] else ""
        print(f"{c['client_id']}  {c['role']:<18} tenant={c['tenant']}{industries}  {state}  {c['name']}")
        print(f"    scopes: {' '.join(c['scopes'])}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    database_url = args.database_url or Settings().database_url
    try:
        if args.command == "create":
            created = asyncio.run(create_client_in(database_url, args.name, args.role, args.tenant, args.industry, args.scope))
            if args.json:
                print(json.dumps(created, ensure_ascii=False))
            else:
                print(f"client_id:     {created['client_id']}")
                print(f"client_secret: {created['client_secret']}")
                print(f"scopes:        {' '.join(created['scopes'])}")
                print("The secret is shown only now; store it safely. 密钥仅显示一次，请妥善保存。")
        elif args.command == "list":
            clients = asyncio.run(list_clients_in(database_url))
            print(json.dumps(clients, ensure_ascii=False, indent=2)) if args.json else _print_clients(clients)
        else:
            revoked = asyncio.run(revoke_client_in(database_url, args.client_id))
            print(json.dumps(revoked, ensure_ascii=False)) if args.json else print(f"revoked {revoked['client_id']} at {revoked['revoked_at']}")
    except DatabaseNotMigrated as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        for v in exc.violations:
            print(f"error: {v.field or '-'}: {v.message_en} ({v.message_zh}) [{v.rule}]", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
