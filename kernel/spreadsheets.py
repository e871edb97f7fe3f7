"""Streaming CSV and XLSX exports: rows are written as the batches come, in constant memory.

Used by every ledger export (the monitoring hub's bureau ledgers, the prevention service's
hazard ledger). CSV goes out as it is written (UTF-8 with a BOM, so Excel reads Chinese). XLSX is
written by xlsxwriter in ``constant_memory`` mode (each row flushed to a temporary file as it is
added) and then sent in chunks. Every text cell that a spreadsheet would take for a formula
(``= + - @``, tab, CR) gets a leading apostrophe (CSV/formula injection).
"""

from __future__ import annotations

import asyncio
import csv
import io
import operator
import os
import tempfile
from collections.abc import AsyncIterator, Iterable

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
CHUNK = 64 * 1024


def cell(value) -> str | int | None:
    """A cell's text, with a would-be formula neutralised by a leading apostrophe (CSV/formula injection).

    Called once per cell of exports that run to millions of rows: the common case (text) first.
    """
    if type(value) is str:
        return "'" + value if value[:1] in _FORMULA_FIRST else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text[:1] in _FORMULA_FIRST else text


def _cells(keys: list[str], rows: list[dict]) -> list[list]:
    pick = operator.itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    return [list(map(cell, pick(row))) for row in rows]


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
        writer.writerows(_cells(keys, rows))
        yield flush()


class _Sheet:
    """One worksheet written row by row; strings go in as strings, never as formulas or numbers."""

    def __init__(self, path: str, title: str) -> None:
        self.book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
        self.sheet = self.book.add_worksheet(title[:31])
        self.row = 0

    def append(self, rows: Iterable[list]) -> None:
        for values in rows:
            self.sheet.write_row(self.row, 0, values)
            self.row += 1


async def xlsx_stream(
    title: str, preamble: list[str], headers: list[str], keys: list[str], batches: AsyncIterator[list[dict]]
) -> AsyncIterator[bytes]:
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        sheet = _Sheet(path, title)
        sheet.append([[cell(line)] for line in preamble] + [headers])
        async for rows in batches:
            await asyncio.to_thread(sheet.append, _cells(keys, rows))  # off the event loop
        await asyncio.to_thread(sheet.book.close)
        with open(path, "rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
    finally:
        os.unlink(path)
