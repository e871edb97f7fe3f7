"""Push subscriptions (推送订阅): in order per subscriber, each event once, signed the Standard Webhooks way."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook

from contracts.enums import Role
from devstack.broker import free_port
from tests.conftest import running_service
from tests.monitoring.conftest import CLAIMS_TYPE, PREVENTION_TYPE, probe_event, publish
from tests.support.factories import eventually
from tests.support.servers import serve


class Receiver:
    """A subscriber's endpoint on a real port: records what arrives, answers with ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.status = 204
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            if self.status < 300:
                self.received.append((await request.body(), dict(request.headers)))
            return Response(status_code=self.status)

    def verified(self, secret: str) -> list[dict]:
        hook = Webhook(secret)
        return [hook.verify(body, headers) for body, headers in self.received]


async def subscribe(client, hub_url, headers, endpoint, types=()) -> dict:
    created = await client.post(f"{hub_url}/subscriptions", json={"endpoint_url": endpoint, "event_types": list(types)}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


async def test_a_subscriber_that_is_down_then_back_gets_every_event_once_in_order(databases, broker, token_mint, monitoring_settings):
    url = await databases.create("monitoring")
    city = token_mint.headers(Role.MUNICIPAL_PLATFORM, "CITY")
    port = free_port()
    receiver = Receiver()
    events = [probe_event(CLAIMS_TYPE, n) for n in range(8)]
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, **monitoring_settings, push_max_attempts=1000) as hub,
        httpx.AsyncClient(timeout=10) as client,
    ):
        sub = await subscribe(client, hub.url, city, f"http://127.0.0.1:{port}/hook", [CLAIMS_TYPE])
        assert sub["secret"].startswith("whsec_")
        await publish(broker.bootstrap_servers, events[:5] + [probe_event(PREVENTION_TYPE, 100)] + events[5:])

        async def failing():
            current = (await client.get(f"{hub.url}/subscriptions/{sub['id']}", headers=city)).json()
            return current["attempts"] >= 3 and current

        down = await eventually(failing)  # nobody listens on the port: attempts pile up with backoff
        assert down["last_error"]
        async with serve(receiver.app, port):
            await eventually(lambda: _at_least(receiver, 8), timeout=20)
            await asyncio.sleep(0.5)  # nothing more may come
        delivered = receiver.verified(sub["secret"])
        assert [e["data"]["n"] for e in delivered] == list(range(8)), "every event once, in order, the other type left out"
        assert [h["webhook-id"] for _, h in receiver.received] == [e["id"] for e in events]
        assert all(h["content-type"] == "application/cloudevents+json" for _, h in receiver.received)
        listed = (await client.get(f"{hub.url}/subscriptions", headers=city)).json()
        assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0], "the secret is shown once"
        assert (await client.get(f"{hub.url}/subscriptions/{sub['id']}/dead-letters", headers=city)).json() == []


async def _at_least(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def test_after_the_last_attempt_an_event_is_dead_lettered_and_can_be_redelivered(
    sqlite_databases, broker, token_mint, monitoring_settings
):
    url = await sqlite_databases.create("monitoring")
    city = token_mint.headers(Role.MUNICIPAL_PLATFORM, "CITY")
    receiver = Receiver()
    receiver.status = 503
    events = [probe_event(CLAIMS_TYPE, n) for n in range(3)]
    async with (
        serve(receiver.app) as endpoint,
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, **monitoring_settings, push_max_attempts=2) as hub,
        httpx.AsyncClient(timeout=10) as client,
    ):
        sub = await subscribe(client, hub.url, city, f"{endpoint.url}/hook")
        letters_url = f"{hub.url}/subscriptions/{sub['id']}/dead-letters"
        await publish(broker.bootstrap_servers, events)

        async def all_dead():
            letters = (await client.get(letters_url, headers=city)).json()
            return len(letters) == 3 and letters

        letters = await eventually(all_dead)
        assert [d["event_id"] for d in letters] == [e["id"] for e in events]
        assert all(d["attempts"] == 2 and d["last_error"] == "HTTP 503" for d in letters)

        receiver.status = 200
        one = await client.post(f"{hub.url}/subscriptions/{sub['id']}/redeliver", json={"event_id": events[1]["id"]}, headers=city)
        assert one.status_code == 202 and one.json() == {"queued": 1}
        await eventually(lambda: _at_least(receiver, 1))
        rest = await client.post(f"{hub.url}/subscriptions/{sub['id']}/redeliver", json={}, headers=city)
        assert rest.json() == {"queued": 2}
        await eventually(lambda: _at_least(receiver, 3))
        assert [e["data"]["n"] for e in receiver.verified(sub["secret"])] == [1, 0, 2]
        assert (await client.get(letters_url, headers=city)).json() == []

        # A later event goes straight through; the dead letters did not hold delivery up.
        later = probe_event(CLAIMS_TYPE, 3)
        await publish(broker.bootstrap_servers, [later])
        await eventually(lambda: _at_least(receiver, 4))
        assert receiver.received[3][1]["webhook-id"] == later["id"]

        unknown = await client.post(f"{hub.url}/subscriptions/{sub['id']}/redeliver", json={"event_id": "nope"}, headers=city)
        assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://city.example.cn/hook", True),
        ("http://city.example.cn/hook", False),
        ("http://127.0.0.1:9/hook", True),
        ("ftp://127.0.0.1/hook", False),
    ],
)
async def test_only_https_endpoints_or_this_machine_when_allowed(endpoint, allowed, sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    city = token_mint.headers(Role.MUNICIPAL_PLATFORM, "CITY")
    async with (
        running_service(
            "monitoring",
            url,
            broker.bootstrap_servers,
            token_mint,
            run_consumers=False,
            run_push_delivery=False,
            push_allow_http_localhost=True,
        ) as hub,
        httpx.AsyncClient(timeout=10) as client,
    ):
        created = await client.post(f"{hub.url}/subscriptions", json={"endpoint_url": endpoint}, headers=city)
        assert created.status_code == (201 if allowed else 422), created.text


async def test_a_subscription_is_its_tenants_alone(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    city = token_mint.headers(Role.MUNICIPAL_PLATFORM, "CITY")
    other = token_mint.headers(Role.MUNICIPAL_PLATFORM, "OTHER-CITY")
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "EMA")
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_consumers=False, run_push_delivery=False) as hub,
        httpx.AsyncClient(timeout=10) as client,
    ):
        sub = await subscribe(client, hub.url, city, "https://city.example.cn/hook")
        assert (await client.get(f"{hub.url}/subscriptions/{sub['id']}", headers=other)).status_code == 404
        body = {"endpoint_url": "https://city.example.cn/other"}
        first = await client.post(f"{hub.url}/subscriptions", json=body, headers=city | {"Idempotency-Key": "k1"})
        retry = await client.post(f"{hub.url}/subscriptions", json=body, headers=city | {"Idempotency-Key": "k1"})
        assert retry.headers.get("Idempotent-Replayed") == "true" and retry.json()["id"] == first.json()["id"]
        assert (await client.delete(f"{hub.url}/subscriptions/{first.json()['id']}", headers=city)).status_code == 204
        assert (await client.delete(f"{hub.url}/subscriptions/{sub['id']}", headers=other)).status_code == 404
        assert (await client.get(f"{hub.url}/subscriptions", headers=admin)).status_code == 403
        assert (await client.delete(f"{hub.url}/subscriptions/{sub['id']}", headers=city)).status_code == 204
        assert (await client.get(f"{hub.url}/subscriptions", headers=city)).json() == []


async def test_two_replicas_deliver_each_event_once_and_in_order(databases, broker, token_mint, monitoring_settings):
    url = await databases.create("monitoring")
    city = token_mint.headers(Role.MUNICIPAL_PLATFORM, "CITY")
    receiver = Receiver()
    events = [probe_event(CLAIMS_TYPE, n) for n in range(30)]
    shared = {**monitoring_settings, "consumer_group": "monitoring-replicas", "push_poll_seconds": 0.01}
    async with (
        serve(receiver.app) as endpoint,
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, **shared) as first,
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, **shared),
        httpx.AsyncClient(timeout=10) as client,
    ):
        sub = await subscribe(client, first.url, city, f"{endpoint.url}/hook")
        await publish(broker.bootstrap_servers, events)
        await eventually(lambda: _at_least(receiver, 30), timeout=30)
        await asyncio.sleep(0.5)
        assert [e["data"]["n"] for e in receiver.verified(sub["secret"])] == list(range(30))


def test_the_openapi_document_describes_the_signed_push():
    from services.monitoring.app import create_app

    document = create_app().openapi()
    push = document["webhooks"]["cloudevent"]["post"]
    assert {p["name"] for p in push["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert {"/feed", "/subscriptions", "/subscriptions/{subscription_id}/redeliver", "/registry/uploads", "/coverage"} <= set(
        document["paths"]
    )
