"""Streaming CSV and XLSX writers for the ledgers: rows are written as the batches come."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024


def cell(value) -> str | int | None:
    """A cell's text, with a would-be formula neutralised by a leading apostrophe (CSV/formula injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def csv_stream(preamble: list[str], headers: list[str], keys: list[str], batches: AsyncIterator[list[dict]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    buffer.write("\ufeff")  # BOM: Excel then reads the Chinese as UTF-8
    for line in preamble:
        writer.writerow([cell(line)])
    writer.writerow(headers)
    yield flush()
    async for rows in batches:
        writer.writerows([cell(row[k]) for k in keys] for row in rows)
        yield flush()


def _append(sheet, keys: list[str], rows: list[dict]) -> None:
    for row in rows:
        sheet.append([cell(row[k]) for k in keys])


async def xlsx_stream(
    title: str, preamble: list[str], headers: list[str], keys: list[str], batches: AsyncIterator[list[dict]]
) -> AsyncIterator[bytes]:
    """openpyxl write-only workbook (rows go to a temporary file as appended), then the file in chunks."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for line in preamble:
        sheet.append([cell(line)])
    sheet.append(headers)
    async for rows in batches:
        await asyncio.to_thread(_append, sheet, keys, rows)  # off the event loop
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        await asyncio.to_thread(workbook.save, path)
        with open(path, "rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
    finally:
        os.unlink(path)
