"""Routes of the ledgers part: each ledger as paginated JSON, and streamed as CSV and XLSX."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from contracts.enums import Industry, Role
from contracts.events.prevention import HazardStatus
from kernel.errors import PROBLEM_RESPONSES
from kernel.auth import Principal, authorize
from kernel.database import SessionDep
from services.monitoring import service as hub
from kernel import spreadsheets as exports
from services.monitoring.ledgers import service as ledgers

LedgerReader = Annotated[
    Principal, Depends(authorize(Role.EMERGENCY_ADMIN, Role.FINANCE_REGULATOR, Role.BUREAU, scopes=("ledgers:read",)))
]
BEIJING = ZoneInfo("Asia/Shanghai")

router = APIRouter(tags=["bureau ledgers"], responses=PROBLEM_RESPONSES)


def _filters(
    principal: Principal,
    industry: Industry | None,
    district: str | None,
    on: date | None,
    status: HazardStatus | None,
    date_from: date | None,
    date_to: date | None,
) -> ledgers.Filters:
    return ledgers.Filters(
        industries=hub.visible_industries(principal, industry.value if industry else None),
        district=district,
        on=on or datetime.now(BEIJING).date(),
        status=status.value if status else None,
        date_from=date_from,
        date_to=date_to,
    )


async def _export_batches(request: Request, ledger: ledgers.Ledger, f: ledgers.Filters):
    # Its own session: the stream outlives the request's dependencies.
    async with request.app.state.sessionmaker() as session:
        async for rows in ledgers.batches(session, ledger, f):
            yield rows


@router.get("/ledgers/{name}", summary="A bureau ledger 台账: insured, uninsured, hazards, service-records (.csv, .xlsx to export)")
async def read_ledger(
    name: str,
    principal: LedgerReader,
    session: SessionDep,
    request: Request,
    industry: Industry | None = None,
    district: Annotated[str | None, Query(max_length=64)] = None,
    on: Annotated[date | None, Query(description="Day of cover for insured/uninsured; today (Beijing) if omitted")] = None,
    status: Annotated[HazardStatus | None, Query(description="Hazards only: rectification status")] = None,
    date_from: Annotated[date | None, Query(alias="from", description="Found on / performed on, from")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Found on / performed on, to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
):
    base, _, fmt = name.partition(".")
    ledger = ledgers.ledger_named(base)
    if fmt not in ("", "csv", "xlsx"):
        ledgers.ledger_named(name)
    f = _filters(principal, industry, district, on, status, date_from, date_to)
    if not fmt:
        items, next_cursor = await ledgers.page(session, ledger, f, cursor, limit)
        return {"ledger": ledger.name, "items": items, "next_cursor": next_cursor}
    keys = [k for k, _ in ledger.columns]
    headers = [h for _, h in ledger.columns]
    filename = f"{ledger.title_zh}-{f.on.isoformat()}.{fmt}"
    disposition = f"attachment; filename=\"{ledger.name}.{fmt}\"; filename*=UTF-8''{quote(filename)}"
    batches = _export_batches(request, ledger, f)
    if fmt == "csv":
        body = exports.csv_stream(ledger.preamble, headers, keys, batches)
        media = "text/csv; charset=utf-8"
    else:
        body = exports.xlsx_stream(ledger.title_zh, ledger.preamble, headers, keys, batches)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return StreamingResponse(body, media_type=media, headers={"Content-Disposition": disposition})


routers: list[APIRouter] = [router]
