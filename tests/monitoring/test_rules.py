"""Pure rules of the monitoring hub, checked with plain values."""

from __future__ import annotations

import pytest

from services.monitoring import rules


def test_a_feed_cursor_round_trips_and_a_foreign_one_is_not_read():
    assert rules.decode_feed_cursor(rules.encode_feed_cursor(42)) == 42
    assert rules.decode_feed_cursor(None) == 0
    assert rules.decode_feed_cursor("not-ours") is None
    assert rules.decode_feed_cursor("c2VxOi0x") is None  # "seq:-1"


def test_retry_delay_doubles_up_to_its_cap():
    delays = [rules.retry_delay(n, base_seconds=1, max_seconds=10) for n in range(1, 7)]
    assert delays == [1, 2, 4, 8, 10, 10]


def test_delivery_gives_up_at_the_last_attempt():
    assert not rules.gives_up(5, max_attempts=6)
    assert rules.gives_up(6, max_attempts=6)


@pytest.mark.parametrize(
    ("url", "allow", "refused"),
    [
        ("https://a.example/x", False, False),
        ("http://a.example/x", True, True),
        ("http://localhost:8000/x", True, False),
        ("http://localhost:8000/x", False, True),
        ("https://user:pw@a.example/x", False, True),
        ("https:///x", False, True),
    ],
)
def test_endpoint_must_be_https_unless_local_and_allowed(url, allow, refused):
    assert (rules.endpoint_refusal(url, allow_http_localhost=allow) is not None) is refused


def _row_rules(row, industries=frozenset({"MINE"})):
    from contracts.identifiers import is_valid_credit_code

    return {
        (f, r) for f, r, _, _ in rules.registry_row_errors(row, bureau_industries=industries, is_valid_credit_code=is_valid_credit_code)
    }


def test_a_good_registry_row_breaks_no_rule():
    from tests.support.factories import credit_code

    assert _row_rules({"credit_code": credit_code(1), "name": "矿业", "industry": "mine", "district": "房山区"}) == set()


def test_a_registry_row_names_each_broken_rule():
    assert _row_rules({"credit_code": "91110108000000001X", "name": "", "industry": "HAZCHEM", "district": "房山区"}) == {
        ("credit_code", "identifier.credit_code_invalid"),
        ("name", "registry.field_required"),
        ("industry", "tenant.industry_not_supervised"),
    }
