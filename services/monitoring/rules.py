"""Pure rules of the monitoring hub: no I/O, testable with plain values."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import date
from urllib.parse import urlsplit

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
FEED_CURSOR_PREFIX = "seq:"


def encode_feed_cursor(sequence: int) -> str:
    """The feed cursor is opaque to callers; inside it is the archive position."""
    return base64.urlsafe_b64encode(f"{FEED_CURSOR_PREFIX}{sequence}".encode()).decode().rstrip("=")


def decode_feed_cursor(cursor: str | None) -> int | None:
    """The archive position in a cursor, 0 for none, None when the cursor is not one of ours."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith(FEED_CURSOR_PREFIX) or not text[len(FEED_CURSOR_PREFIX) :].isdigit():
        return None
    return int(text[len(FEED_CURSOR_PREFIX) :])


def endpoint_refusal(url: str, *, allow_http_localhost: bool) -> str | None:
    """Why an endpoint URL is refused (None when acceptable): HTTPS only, plain http only to this machine when allowed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a URL"
    if not parts.hostname:
        return "no host"
    if parts.username or parts.password:
        return "credentials in the URL"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_http_localhost and parts.hostname in LOCAL_HOSTS:
        return None
    return "not https"


def retry_delay(attempts: int, *, base_seconds: float, max_seconds: float) -> float:
    """Exponential backoff after the n-th failed attempt: base, 2·base, 4·base, … capped."""
    return min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds)


def gives_up(attempts: int, *, max_attempts: int) -> bool:
    """After this many failed attempts the event goes to the dead-letter list and delivery moves on."""
    return attempts >= max_attempts


# -- mandatory-enterprise registry rows (应保企业名录) ---------------------------------------------

# Column names a bureau's file may use, English or Chinese, mapped to ours.
REGISTRY_COLUMNS = {
    "credit_code": "credit_code",
    "统一社会信用代码": "credit_code",
    "name": "name",
    "单位名称": "name",
    "industry": "industry",
    "行业": "industry",
    "行业领域": "industry",
    "district": "district",
    "区县": "district",
    "属地区县": "district",
}
REGISTRY_FIELDS = ("credit_code", "name", "industry", "district")
_FIELD_ZH = {"credit_code": "统一社会信用代码", "name": "单位名称", "industry": "行业领域", "district": "属地区县"}
_MAX_LENGTH = {"name": 200, "district": 64}


def registry_row_errors(
    row: dict[str, object], *, bureau_industries: frozenset[str], is_valid_credit_code
) -> list[tuple[str, str, str, str]]:
    """Every rule one uploaded row breaks, as (field, rule, message_zh, message_en); empty when the row is good."""
    errors: list[tuple[str, str, str, str]] = []
    values = {f: str(row.get(f) or "").strip() for f in REGISTRY_FIELDS}
    for field in REGISTRY_FIELDS:
        if not values[field]:
            errors.append((field, "registry.field_required", f"{_FIELD_ZH[field]}不能为空", f"{field} is required"))
        elif field in _MAX_LENGTH and len(values[field]) > _MAX_LENGTH[field]:
            errors.append(
                (field, "registry.field_too_long", f"{_FIELD_ZH[field]}过长", f"{field} is longer than {_MAX_LENGTH[field]} characters")
            )
    code = values["credit_code"].upper()
    if code and not is_valid_credit_code(code):
        errors.append(
            (
                "credit_code",
                "identifier.credit_code_invalid",
                "统一社会信用代码格式或校验位错误",
                "The unified social credit code is malformed or its check character is wrong",
            )
        )
    industry = values["industry"].upper()
    if industry and industry not in bureau_industries:
        errors.append(
            (
                "industry",
                "tenant.industry_not_supervised",
                "只能上报本部门监管行业的企业",
                "A bureau may only list enterprises of the industries it supervises",
            )
        )
    return errors


# -- coverage 应保尽保 -----------------------------------------------------------------------------


def in_force(on: date, *, period_start: date, period_end: date, cancelled_from: date | None) -> bool:
    """A policy covers ``on`` from its first to its last day (24时止), unless cancelled on or before it."""
    return period_start <= on <= period_end and (cancelled_from is None or on < cancelled_from)


def coverage_by_group(must_insure: Iterable[tuple[str, str, str, str]], insured: set[str]) -> list[dict]:
    """Per (industry, district): units that must insure, how many are insured, and the list of 应保未保.

    ``must_insure`` holds (credit_code, name, industry, district); a unit counts once per
    industry and district it is listed under.
    """
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for code, name, industry, district in must_insure:
        groups.setdefault((industry, district), {}).setdefault(code, name)
    result = []
    for (industry, district), units in sorted(groups.items()):
        uninsured = [{"credit_code": c, "name": n} for c, n in sorted(units.items()) if c not in insured]
        result.append(
            {
                "industry": industry,
                "district": district,
                "must_insure": len(units),
                "insured": len(units) - len(uninsured),
                "uninsured": uninsured,
            }
        )
    return result
