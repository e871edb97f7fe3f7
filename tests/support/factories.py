"""Test data that passes the platform's own identifier rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from contracts.identifiers import credit_code_check_character

T = TypeVar("T")


def credit_code(n: int, division: str = "110108") -> str:
    """A valid unified social credit code: 91 (enterprise) + division + a 9-digit organisation code."""
    first17 = f"91{division}{n:09d}"
    return first17 + credit_code_check_character(first17)


def enterprise_body(n: int, industry: str = "CONSTRUCTION", district: str = "朝阳区") -> dict:
    return {
        "credit_code": credit_code(n),
        "name": f"测试建设工程有限公司{n}",
        "industry": industry,
        "district": district,
        "address": f"北京市{district}测试路{n}号",
        "headcount": 50 + n % 100,
        "standardization_grade": "LEVEL_2",
    }


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Poll ``check`` until it returns a truthy value; fail with its last answer after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last answer: {last!r}")
