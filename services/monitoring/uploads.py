"""Reading a bureau's registry file (CSV, XLSX or JSON) into numbered rows; no database, no rules.

Each reader yields ``(row_number, {field: value})`` with our field names; the header is row 1
of a sheet, JSON items count from 1. A file that cannot be read at all raises
:class:`MalformedUpload`, carrying the rule it broke.

The files come from outside, so every reader is bounded before it parses: an XLSX is checked in
its zip directory (entry count, uncompressed sizes, compression ratio) without inflating
anything, XML that declares a DTD or entities is refused (and openpyxl parses through defusedxml
besides), rows are counted, and text a spreadsheet would run as a formula is refused per row.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator

from defusedxml import DefusedXmlException

from services.monitoring.rules import REGISTRY_COLUMNS

Row = tuple[int, dict[str, object]]
FORMATS = ("csv", "xlsx", "json")


# An XLSX unpacks to at most this much, whatever its compressed size (zip bombs).
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
# Sheet XML compresses well, but not a thousandfold: entries above this ratio are bombs.
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_ENTRIES = 1000
# Rows in one file, blank ones included (a sheet can declare a million empty rows).
MAX_ROWS = 200_000
# Only the first columns of a sheet are read: a sheet may claim 16,384 of them.
MAX_COLUMNS = 64
# What the DTD check reads of each XML part: the prolog, where a DOCTYPE has to be.
XML_PROLOG_BYTES = 64 * 1024
# Cells a spreadsheet would evaluate as a formula (=, +, -, @, and the tab/CR tricks).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_CHECKED_FIELDS = ("name", "district")


class MalformedUpload(ValueError):
    """The file as a whole cannot be read; ``rule`` and ``message_zh`` say why for the problem+json."""

    def __init__(self, message_en: str, *, rule: str = "registry.file_malformed", message_zh: str = "文件无法读取，请检查格式") -> None:
        super().__init__(message_en)
        self.rule = rule
        self.message_zh = message_zh


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


def _too_many_rows() -> MalformedUpload:
    return MalformedUpload(
        f"the file has more than {MAX_ROWS} rows", rule="registry.too_many_rows", message_zh=f"文件超过 {MAX_ROWS} 行上限"
    )


def _sheet_rows(rows: Iterator[list[object]]) -> Iterator[Row]:
    try:
        header = next(rows)
    except StopIteration:
        raise MalformedUpload("the file is empty") from None
    columns = _columns(list(header))
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS:
            raise _too_many_rows()
        if not any(v not in (None, "") for v in values):
            continue  # blank lines are not rows
        yield number, {c: v for c, v in zip(columns, values) if c is not None}


def _csv_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312, what Excel in China saves)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise MalformedUpload(
                f"CSV is neither UTF-8 nor GBK/GB18030 text: {exc}",
                rule="registry.encoding_unsupported",
                message_zh="CSV 文件编码无法识别，请使用 UTF-8 或 GBK 编码",
            ) from exc
    if "\x00" in text:
        # UTF-16 and binary files decode "successfully" into NUL-riddled text.
        raise MalformedUpload(
            "CSV contains NUL characters: save it as UTF-8 or GBK text",
            rule="registry.encoding_unsupported",
            message_zh="CSV 文件包含空字符，请以 UTF-8 或 GBK 文本保存",
        )
    return text


def read_csv(content: bytes) -> Iterator[Row]:
    text = _csv_text(content)
    try:
        yield from _sheet_rows(iter(csv.reader(io.StringIO(text, newline=""))))
    except csv.Error as exc:
        raise MalformedUpload(f"CSV cannot be read: {exc}") from exc


def _zip_bomb(reason: str) -> MalformedUpload:
    return MalformedUpload(
        f"XLSX refused before unpacking: {reason}", rule="registry.xlsx_zip_bomb", message_zh="XLSX 文件解压后过大或压缩比异常，已拒绝"
    )


def check_xlsx_archive(content: bytes) -> None:
    """Refuse a workbook by its zip directory alone (sizes, ratio), then any XML part that declares a DTD.

    The sizes come from the central directory; Python's zipfile never inflates an entry past its
    declared size (it stops there and fails the CRC), so checking them bounds the work to come.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise MalformedUpload(f"XLSX is not a zip archive: {exc}") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise _zip_bomb(f"{len(entries)} entries, more than {MAX_ZIP_ENTRIES}")
        total = sum(info.file_size for info in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise _zip_bomb(f"it would unpack to {total} bytes, more than {MAX_UNCOMPRESSED_BYTES}")
        for info in entries:
            if info.file_size > 1024 * 1024 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                raise _zip_bomb(f"{info.filename} is compressed {info.file_size // max(info.compress_size, 1)}:1")
        names = {info.filename for info in entries}
        if "xl/workbook.xml" not in names and "[Content_Types].xml" not in names:
            raise MalformedUpload("the zip archive is not an XLSX workbook (no xl/workbook.xml)")
        for info in entries:
            if not info.filename.endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with archive.open(info) as part:
                    prolog = part.read(XML_PROLOG_BYTES)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, ValueError) as exc:
                raise MalformedUpload(f"XLSX part {info.filename} cannot be read: {exc}") from exc
            if b"<!DOCTYPE" in prolog.upper().replace(b"\x00", b"") or b"<!ENTITY" in prolog.upper().replace(b"\x00", b""):
                raise _xml_entities(info.filename)


def _xml_entities(part: str) -> MalformedUpload:
    return MalformedUpload(
        f"XLSX part {part} declares a DTD or entities, which a workbook never needs (XML bomb)",
        rule="registry.xlsx_xml_entities",
        message_zh="XLSX 文件包含 DTD 或实体声明，已拒绝",
    )


def _refuse_entities(exc: BaseException) -> None:
    """Raise the XML-bomb refusal when defusedxml stopped the parse, however deep openpyxl wrapped it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DefusedXmlException):
            raise _xml_entities(str(seen)) from exc
        seen = seen.__cause__ or seen.__context__


def read_xlsx(content: bytes) -> Iterator[Row]:
    from openpyxl import load_workbook  # parses through defusedxml, which is installed

    check_xlsx_archive(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # a damaged workbook raises whatever openpyxl meets first
        _refuse_entities(exc)
        raise MalformedUpload(f"XLSX cannot be read: {exc}") from exc
    try:
        if not workbook.worksheets:
            raise MalformedUpload("the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        rows = (list(row) for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS))
        yield from _sheet_rows(rows)
    except MalformedUpload:
        raise
    except Exception as exc:  # openpyxl raises many types for a damaged sheet
        _refuse_entities(exc)
        raise MalformedUpload(f"XLSX cannot be read: {exc}") from exc
    finally:
        workbook.close()


def read_json(content: bytes) -> Iterator[Row]:
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedUpload(f"JSON cannot be read: {exc}") from exc
    except RecursionError:
        raise MalformedUpload("JSON is nested too deeply") from None
    items = document.get("enterprises") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise MalformedUpload('JSON must be a list of enterprises or {"enterprises": [...]}')
    if len(items) > MAX_ROWS:
        raise _too_many_rows()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield number, {}
            continue
        yield number, {REGISTRY_COLUMNS[k]: v for k, v in item.items() if k in REGISTRY_COLUMNS}


def formula_errors(row: dict[str, object]) -> list[tuple[str, str, str, str]]:
    """Text cells a spreadsheet would run as a formula (CSV/formula injection), as (field, rule, zh, en).

    Such a row is refused rather than altered: an enterprise name never starts with = + - @.
    """
    errors = []
    for field in FORMULA_CHECKED_FIELDS:
        value = row.get(field)
        if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
            errors.append(
                (
                    field,
                    "registry.formula_refused",
                    "内容不能以 = + - @ 或制表符开头（可能被电子表格当作公式执行）",
                    f"{field} may not start with = + - @ or a tab: a spreadsheet would run it as a formula",
                )
            )
    return errors


READERS = {"csv": read_csv, "xlsx": read_xlsx, "json": read_json}


def read_rows(fmt: str, content: bytes) -> list[Row]:
    """All rows at once, so a file broken halfway is refused whole before anything is kept."""
    return list(READERS[fmt](content))


class UploadBodyLimit:
    """ASGI middleware: an upload whose body grows past ``max_bytes`` is answered 413 the moment it does.

    The app's own check reads the declared Content-Length; a chunked body declares none, and the
    multipart parser would spool all of it to disk before the endpoint could measure the file.
    This counts the bytes as they arrive, answers 413 at once and tells the app the client left.
    Wire it with ``app.add_middleware(UploadBodyLimit, path_suffix="/registry/uploads", max_bytes=...)``.
    """

    def __init__(self, app, *, path_suffix: str, max_bytes: int) -> None:
        self.app = app
        self.path_suffix = path_suffix
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(self.path_suffix):
            await self.app(scope, receive, send)
            return
        received = 0
        started = refused = False

        async def counting_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    refused = True
                    await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers to the "disconnect" is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, scope, send) -> None:
        from starlette.requests import Request

        from kernel.errors import DomainError, Problem

        refusal = DomainError(
            "registry.upload_too_large",
            f"文件超过 {self.max_bytes} 字节上限",
            f"The file is larger than {self.max_bytes} bytes",
            field="file",
            status=413,
        )
        response = Problem(413, "Payload too large", refusal.violations).response(Request(scope))
        response.headers["Connection"] = "close"

        async def no_body():
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)
