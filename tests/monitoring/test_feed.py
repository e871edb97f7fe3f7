"""The pull feed (事件拉取): every event archived once, in a stable order, resumable, filtered by type."""

from __future__ import annotations

import httpx
import pytest

from contracts.enums import Role
from contracts.events.registry import EVENT_TYPES
from services.monitoring.consumers import HANDLERS
from tests.conftest import running_service
from tests.monitoring.conftest import CLAIMS_TYPE, PREVENTION_TYPE, probe_event, publish
from tests.support.factories import eventually


def test_every_registered_event_type_is_archived():
    assert set(HANDLERS) == set(EVENT_TYPES)


async def read_all(client, url, headers, **params) -> tuple[list[dict], str]:
    items, cursor = [], params.pop("after", None)
    while True:
        page = await client.get(f"{url}/feed", params=params | ({"after": cursor} if cursor else {}), headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if not body["items"]:
            return items, body["next_cursor"]
        cursor = body["next_cursor"]


async def test_feed_resumes_from_its_cursor_filters_by_type_and_a_replay_adds_nothing(databases, broker, token_mint):
    url = await databases.create("monitoring")
    city = token_mint.headers(Role.MUNICIPAL_PLATFORM, "CITY")
    events = [probe_event(CLAIMS_TYPE if n % 2 else PREVENTION_TYPE, n, enterprise=n % 3) for n in range(12)]
    async with running_service("monitoring", url, broker.bootstrap_servers, token_mint) as hub, httpx.AsyncClient(timeout=10) as client:
        await publish(broker.bootstrap_servers, events[:6])

        async def first_six():
            items, _ = await read_all(client, hub.url, city, limit=4)
            return len(items) == 6 and items

        await eventually(first_six)
        first_page = (await client.get(f"{hub.url}/feed", params={"limit": 4}, headers=city)).json()
        assert len(first_page["items"]) == 4
        assert first_page["items"][0]["specversion"] == "1.0" and "data" in first_page["items"][0]

        await publish(broker.bootstrap_servers, events[6:])
        await eventually(lambda: _count(client, hub.url, city, 12))
        rest, end = await read_all(client, hub.url, city, after=first_page["next_cursor"], limit=5)
        seen = first_page["items"] + rest
        assert sorted(e["id"] for e in seen) == sorted(e["id"] for e in events)
        # Within one enterprise on one topic (one partition) the feed keeps the order of publication.
        for key, type_ in {(e["partitionkey"], e["type"]) for e in events}:
            mine = [e["data"]["n"] for e in seen if e["partitionkey"] == key and e["type"] == type_]
            assert mine == sorted(mine)
        again, _ = await read_all(client, hub.url, city)
        assert [e["id"] for e in again] == [e["id"] for e in seen], "the order is stable"

        claims_only, _ = await read_all(client, hub.url, city, types=CLAIMS_TYPE)
        assert {e["type"] for e in claims_only} == {CLAIMS_TYPE} and len(claims_only) == 6
        both, _ = await read_all(client, hub.url, city, types=f"{CLAIMS_TYPE},{PREVENTION_TYPE}")
        assert len(both) == 12

        await publish(broker.bootstrap_servers, events)  # a replay of the same ids
        marker = probe_event(CLAIMS_TYPE, 99)
        await publish(broker.bootstrap_servers, [marker])
        after_replay = await eventually(lambda: _tail(client, hub.url, city, end))
        assert [e["id"] for e in after_replay] == [marker["id"]], "a replay adds nothing"


async def _count(client, url, headers, n):
    items, _ = await read_all(client, url, headers)
    return len(items) >= n


async def _tail(client, url, headers, cursor):
    items, _ = await read_all(client, url, headers, after=cursor)
    return items


@pytest.mark.parametrize(
    ("role", "scopes", "status"),
    [
        (Role.MUNICIPAL_PLATFORM, None, 200),
        (Role.EMERGENCY_ADMIN, None, 200),
        (Role.MUNICIPAL_PLATFORM, ("monitoring:read",), 403),
        (Role.BUREAU, None, 403),
        (Role.INSURER, None, 403),
    ],
)
async def test_who_may_read_the_feed(role, scopes, status, sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    headers = token_mint.headers(role, "T", scopes=scopes, industries=("MINE",))
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_consumers=False) as hub,
        httpx.AsyncClient(timeout=10) as client,
    ):
        assert (await client.get(f"{hub.url}/feed", headers=headers)).status_code == status


async def test_a_foreign_cursor_or_unknown_type_is_refused(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    city = token_mint.headers(Role.MUNICIPAL_PLATFORM, "CITY")
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_consumers=False) as hub,
        httpx.AsyncClient(timeout=10) as client,
    ):
        bad = await client.get(f"{hub.url}/feed", params={"after": "not-ours"}, headers=city)
        assert bad.status_code == 422 and bad.json()["errors"][0]["rule"] == "feed.cursor_invalid"
        unknown = await client.get(f"{hub.url}/feed", params={"types": "cn.example.nothing.v1"}, headers=city)
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "types"
