"""Reading a bureau's registry file (CSV, XLSX or JSON) into numbered rows; no database, no rules.

Each reader yields ``(row_number, {field: value})`` with our field names; the header is row 1
of a sheet, JSON items count from 1. A file that cannot be read at all raises
:class:`MalformedUpload`.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator

from services.monitoring.rules import REGISTRY_COLUMNS

Row = tuple[int, dict[str, object]]
FORMATS = ("csv", "xlsx", "json")


class MalformedUpload(ValueError):
    pass


def upload_format(filename: str | None, content_type: str | None) -> str | None:
    name = (filename or "").lower()
    for fmt in FORMATS:
        if name.endswith("." + fmt):
            return fmt
    content_type = (content_type or "").lower()
    if "spreadsheetml" in content_type:
        return "xlsx"
    if "json" in content_type:
        return "json"
    if "csv" in content_type:
        return "csv"
    return None


def _columns(header: list[object]) -> list[str | None]:
    columns = [REGISTRY_COLUMNS.get(str(h or "").strip().lower(), REGISTRY_COLUMNS.get(str(h or "").strip())) for h in header]
    if "credit_code" not in columns:
        raise MalformedUpload("no credit_code (统一社会信用代码) column in the header row")
    return columns


def _sheet_rows(rows: Iterator[list[object]]) -> Iterator[Row]:
    try:
        header = next(rows)
    except StopIteration:
        raise MalformedUpload("the file is empty") from None
    columns = _columns(list(header))
    for number, values in enumerate(rows, start=2):
        if not any(v not in (None, "") for v in values):
            continue  # blank lines are not rows
        yield number, {c: v for c, v in zip(columns, values) if c is not None}


def read_csv(content: bytes) -> Iterator[Row]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedUpload(f"CSV is not UTF-8: {exc}") from exc
    try:
        yield from _sheet_rows(iter(csv.reader(io.StringIO(text, newline=""))))
    except csv.Error as exc:
        raise MalformedUpload(f"CSV cannot be read: {exc}") from exc


def read_xlsx(content: bytes) -> Iterator[Row]:
    from openpyxl import load_workbook  # defusedxml, when installed, guards openpyxl's XML parsing

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise MalformedUpload(f"XLSX cannot be read: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = ([cell for cell in row] for row in sheet.iter_rows(values_only=True))
        yield from _sheet_rows(rows)
    except MalformedUpload:
        raise
    except Exception as exc:  # openpyxl raises many types for a damaged sheet
        raise MalformedUpload(f"XLSX cannot be read: {exc}") from exc
    finally:
        workbook.close()


def read_json(content: bytes) -> Iterator[Row]:
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedUpload(f"JSON cannot be read: {exc}") from exc
    items = document.get("enterprises") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise MalformedUpload('JSON must be a list of enterprises or {"enterprises": [...]}')
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield number, {}
            continue
        yield number, {REGISTRY_COLUMNS[k]: v for k, v in item.items() if k in REGISTRY_COLUMNS}


READERS = {"csv": read_csv, "xlsx": read_xlsx, "json": read_json}


def read_rows(fmt: str, content: bytes) -> list[Row]:
    """All rows at once, so a file broken halfway is refused whole before anything is kept."""
    return list(READERS[fmt](content))
