"""Fault injection: business traffic while the broker is cut, services are SIGKILLed and PostgreSQL restarts.

    python -m bench.faults [--operations 10000] [--concurrency 8] [--cuts 2] [--cut-seconds 10]
                           [--kill policy,claims,prevention,monitoring] [--postgres auto|yes|no] [--seed 7]

Runs the platform as the embedded default does (broker, gateway, four services as processes), but
with a TCP proxy (devstack/tcp_proxy.py) between every service and the broker, and on PostgreSQL
when it answers on 127.0.0.1:5432 (else SQLite, and the PostgreSQL restart is skipped and reported).
While a fixed number of mixed business operations run through the gateway (enterprise, roster,
quote, policy issue, premium receipt, enterprise change, read back on the policy service; an
accident report on the claims service and a hazard on the prevention service, each once the
policy's event has reached that service), at random points of the run:
the broker is cut ``--cuts`` times for ``--cut-seconds``; each service in ``--kill`` is killed with
SIGKILL and started again; PostgreSQL is restarted once.

Clients behave as insurer systems should: every create carries an Idempotency-Key, and a request
that failed with 5xx or a lost connection is retried with the same key. Every attempt is counted:
it succeeded (2xx), or failed with a clear error (a problem+json body), or neither (unclear).

Afterwards, once every outbox has drained, a reconciliation compares every source database with
the monitoring hub: each event a service wrote is archived by the hub exactly once (none lost,
none twice), every enterprise's revision equals the updates the hub applied, and the policies of
the policy service equal the covers known to the hub and to the claims service. The run passes
when all of that holds, every chain of operations completed (retries included) and no attempt
was unclear. Writes ``bench/results/faults.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.identifiers import credit_code_check_character, resident_id_check_character
from devstack.broker import free_port, free_ports
from devstack.platform import SERVICES, Layout, Platform, demo_clients
from devstack.tcp_proxy import TcpProxy

RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN = os.environ.get("FAULTS_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
# ≈ 80 s: longer than any fault of the run and than the lease of a key claimed by a killed process (60 s).
RETRY_DELAYS = (0.2, 0.5, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5)
RETRYABLE_CONFLICTS = {"urn:anzexian:problem:idempotency.request_in_progress"}
# The claims and prevention services learn of a policy from its event: until it arrives (later still
# while the broker is cut or a consumer restarts) they answer that there is no such policy, and the
# insurer's system tries again, for up to EVENT_WAIT_SECONDS.
AWAITING_EVENT = {"urn:anzexian:problem:claim.no_policy_in_force", "urn:anzexian:problem:service.no_policy"}
EVENT_WAIT_SECONDS = 120.0
STEPS_PER_CHAIN = 9


@dataclass
class Tally:
    ok: int = 0
    clear_errors: int = 0
    unclear: list[str] = field(default_factory=list)
    retried: int = 0
    waited_for_event: int = 0
    chains_completed: int = 0
    chains_failed: list[str] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def operations(self) -> int:
        return self.chains_completed * STEPS_PER_CHAIN


def _credit_code(n: int, salt: int) -> str:
    first17 = f"9111{salt:04d}{500000000 + n:09d}"
    return first17 + credit_code_check_character(first17)


def _resident_id(n: int) -> str:
    first17 = f"11010519850101{n:03d}"
    return first17 + resident_id_check_character(first17)


class Insurer:
    """One insurer system: a token it renews when it expires, and requests retried with their idempotency key."""

    def __init__(self, client: httpx.AsyncClient, credentials: dict, tally: Tally) -> None:
        self.client, self.credentials, self.tally = client, credentials, tally
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        for delay in RETRY_DELAYS:
            try:
                issued = await self.client.post(
                    "/oauth/token", auth=(self.credentials["client_id"], self.credentials["client_secret"]),
                    data={"grant_type": "client_credentials"},
                )
                if issued.status_code == 200:
                    self.headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(delay)
        raise RuntimeError("no token from the gateway")

    def _count(self, response: httpx.Response | None, error: Exception | None) -> str:
        if response is not None:
            key = str(response.status_code)
            self.tally.by_status[key] = self.tally.by_status.get(key, 0) + 1
            if response.is_success:
                self.tally.ok += 1
                return "ok"
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                self.tally.clear_errors += 1
                if response.status_code >= 500 or response.status_code == 429:
                    return "retry"
                kind = response.json().get("type")
                if kind in AWAITING_EVENT:
                    self.tally.waited_for_event += 1
                    return "wait"
                # The first attempt's process died holding the key: retry until its claim lapses.
                return "retry" if kind in RETRYABLE_CONFLICTS else "final"
            self.tally.unclear.append(f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:120]}")
            return "retry"
        # A connection the gateway dropped or a client timeout: not a clear answer.
        name = type(error).__name__
        self.tally.by_status[name] = self.tally.by_status.get(name, 0) + 1
        if isinstance(error, httpx.ConnectError):  # nothing was sent: refused before the request
            self.tally.clear_errors += 1
        else:
            self.tally.unclear.append(f"{name}: {error}")
        return "retry"

    async def call(self, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
        delays = iter((*RETRY_DELAYS, None))
        delay: float | None = next(delays)
        waiting_until = time.monotonic() + EVENT_WAIT_SECONDS
        while True:
            response, error = None, None
            try:
                response = await self.client.request(method, path, json=body, headers=self.headers | headers)
            except httpx.HTTPError as exc:
                error = exc
            if response is not None and response.status_code == 401:
                await self.login()
                delay = next(delays)
                if delay is None:
                    raise RuntimeError(f"{method} {path}: still refused after logging in again")
                continue
            verdict = self._count(response, error)
            if verdict == "wait" and time.monotonic() < waiting_until:
                await asyncio.sleep(0.5)
                continue
            if verdict == "ok":
                if response.status_code != expect:
                    raise RuntimeError(f"{method} {path}: {response.status_code}, expected {expect}")
                return response.json()
            if verdict in ("final", "wait") or delay is None:
                raise RuntimeError(f"{method} {path}: {response.status_code if response is not None else error} {response.text[:200] if response is not None else ''}")
            self.tally.retried += 1
            await asyncio.sleep(delay)
            delay = next(delays)


async def chain(insurer: Insurer, n: int, salt: int) -> None:
    """Nine business operations on one enterprise, as an insurer system does them, across three services.

    The policy runs from a month ago, so that today an accident can be reported under it and a
    hazard recorded against it.
    """
    api = "/api/v1/policy"
    code = _credit_code(n, salt)
    enterprise = {"credit_code": code, "name": f"故障演练单位{n}", "industry": "CONSTRUCTION", "district": "朝阳区",
                  "address": f"北京市朝阳区演练路{n}号", "headcount": 5, "standardization_grade": "LEVEL_2"}
    await insurer.call("POST", f"{api}/enterprises", enterprise, 201)
    members = [{"resident_id": _resident_id(i), "name": f"员工{i}", "employment_type": "REGULAR", "insured_amount": "400000"} for i in range(5)]
    await insurer.call("PUT", f"{api}/enterprises/{code}/roster", {"members": members}, 200)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=30)
    quote = await insurer.call("POST", f"{api}/quotes", {"credit_code": code, "period_start": start.isoformat(),
                                                        "period_end": (start + timedelta(days=364)).isoformat(),
                                                        "per_person_limit": "400000", "commission": "0"}, 201)
    policy = await insurer.call("POST", f"{api}/policies", {"quote_id": quote["quote_id"]}, 201)
    policy_no = policy["policy_no"]
    await insurer.call("POST", f"{api}/policies/{policy_no}/premium-receipts", {"amount": "500.00", "received_on": start.isoformat()}, 201)
    change = {k: v for k, v in enterprise.items() if k != "credit_code"} | {"headcount": 6}
    await insurer.call("PUT", f"{api}/enterprises/{code}", change, 200)
    await insurer.call("GET", f"{api}/policies/{policy_no}", None, 200)
    occurred = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    await insurer.call("POST", "/api/v1/claims/claims", {
        "policy_no": policy_no, "occurred_at": occurred, "place": f"北京市朝阳区演练路{n}号", "accident_type": "COLLAPSE", "deaths": 0,
        "serious_injuries": 0, "minor_injuries": 1, "direct_loss": "20000", "description": "脚手架局部坍塌"}, 201)
    await insurer.call("POST", "/api/v1/prevention/hazards", {
        "credit_code": code, "policy_no": policy_no, "level": "GENERAL", "description": "配电箱未接地", "found_on": today.isoformat(),
        "deadline": (today + timedelta(days=14)).isoformat()}, 201)


# --- databases ---------------------------------------------------------------------------------


def _postgres_answers() -> bool:
    try:
        return subprocess.run(["psql", PG_ADMIN, "-tAc", "select 1"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-q", "-c", sql], check=True, capture_output=True, timeout=30)


def _restart_postgres() -> str:
    """Restart the local cluster (Debian's pg_ctlcluster); returns what was done."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or not shutil.which("pg_ctlcluster"):
        return "skipped: no pg_ctlcluster on this machine"
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"], check=True, capture_output=True, timeout=120)
    return f"restarted PostgreSQL {versions[-1]}"


async def _scalar(url: str, sql: str):
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def _rows(url: str, sql: str) -> list[tuple]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def drained(layout: Layout, timeout: float) -> bool:
    """Every outbox published and every event written archived by the hub (or the time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending, written = 0, 0
        for service in SERVICES:
            url = layout.database_url(service)
            pending += await _scalar(url, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            written += await _scalar(url, "SELECT count(*) FROM outbox")
        archived = await _scalar(layout.database_url("monitoring"), "SELECT count(DISTINCT event_id) FROM event_archive")
        if pending == 0 and archived >= written:
            return True
        await asyncio.sleep(1)
    return False


async def reconcile(layout: Layout) -> dict:
    """Every source database against the monitoring hub's read models."""
    monitoring = layout.database_url("monitoring")
    archived = await _rows(monitoring, "SELECT event_id, count(*) FROM event_archive GROUP BY event_id")
    archive_counts = {event_id: count for event_id, count in archived}
    written: dict[str, set[str]] = {}
    for service in SERVICES:
        written[service] = {r[0] for r in await _rows(layout.database_url(service), "SELECT event_id FROM outbox")}
    all_written = set().union(*written.values())
    lost = sorted(all_written - set(archive_counts))
    twice = sorted(e for e, c in archive_counts.items() if c > 1)
    unknown = sorted(set(archive_counts) - all_written)

    policy = layout.database_url("policy")
    revisions = dict(await _rows(policy, "SELECT credit_code, revision FROM enterprises"))
    applied = dict(await _rows(monitoring, "SELECT credit_code, updates_applied FROM enterprise_view"))
    revision_mismatch = sorted(c for c in revisions if applied.get(c) != revisions[c])
    policies = {r[0] for r in await _rows(policy, "SELECT policy_no FROM policies")}
    hub_covers = {r[0] for r in await _rows(monitoring, "SELECT policy_no FROM policy_cover_view")}
    claims_covers = {r[0] for r in await _rows(layout.database_url("claims"), "SELECT policy_no FROM policy_covers")}
    dead = {s: await _scalar(layout.database_url(s), "SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'") for s in SERVICES}
    return {
        "events_written": {s: len(ids) for s, ids in written.items()},
        "events_archived": sum(archive_counts.values()),
        "lost": len(lost), "lost_sample": lost[:10],
        "applied_twice": len(twice), "applied_twice_sample": twice[:10],
        "archived_but_never_written": len(unknown),
        "enterprises": len(revisions), "enterprise_revision_mismatch": len(revision_mismatch), "mismatch_sample": revision_mismatch[:10],
        "policies": len(policies), "policies_missing_in_hub": len(policies - hub_covers), "policies_missing_in_claims": len(policies - claims_covers),
        "dead_lettered": dead,
    }


# --- the run -----------------------------------------------------------------------------------


async def inject(platform: Platform, proxy: TcpProxy, progress, plan: list[tuple[float, str]], cut_seconds: float, log: list) -> None:
    """Run each fault when the traffic reaches its share of the run."""
    for share, fault in plan:
        while progress() < share:
            await asyncio.sleep(0.1)
        started = time.monotonic()
        if fault == "cut":
            await proxy.cut()
            await asyncio.sleep(cut_seconds)
            await proxy.restore()
            done = f"broker cut for {cut_seconds:.0f} s"
        elif fault == "postgres":
            done = await asyncio.to_thread(_restart_postgres)
        else:
            platform.kill(fault)
            await asyncio.to_thread(platform.restart, fault)
            done = f"{fault} SIGKILLed and started again"
        log.append({"at_share": round(share, 3), "fault": done, "seconds": round(time.monotonic() - started, 1)})
        print(f"  fault at {share:.0%} of the run: {done}", flush=True)


_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


def server_errors(logs: Path) -> dict[str, dict[str, int]]:
    """What each 500 was: the last line of the traceback each process logged with it, counted per process."""
    found: dict[str, dict[str, int]] = {}
    for log in sorted(logs.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if "unhandled error on" not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            # The last "module.ExceptionType: message" line: the error as raised, without SQLAlchemy's footer.
            raised = [part for part in str(record.get("exc_info") or "").splitlines() if _RAISED.match(part)]
            method = str(record.get("message", "")).split(" ")[3:4] or ["?"]
            cause = f"{method[0]}: {raised[-1] if raised else '?'}"[:300]
            counts = found.setdefault(log.stem, {})
            counts[cause] = counts.get(cause, 0) + 1
    return found


async def run(args) -> dict:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="anzexian-faults-"))
    use_pg = args.postgres == "yes" or (args.postgres == "auto" and _postgres_answers())
    suffix = uuid.uuid4().hex[:8]
    urls: dict[str, str] = {}
    if use_pg:
        for component in ("gateway", *SERVICES):
            _psql(f"CREATE DATABASE faults_{component}_{suffix}")
            urls[component] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/faults_{component}_{suffix}"
    proxy_port = free_port()
    layout = Layout(work / "var", "127.0.0.1", free_ports(5), free_port(), client_broker_port=proxy_port, database_urls=urls)
    proxy = await TcpProxy(proxy_port, layout.host, layout.broker_port).start()
    env = {"LOG_LEVEL": "WARNING", "GATEWAY_RATE_LIMIT": "100000/second", "GATEWAY_TOKEN_RATE_LIMIT": "100000/minute"}
    if args.claim_lease_seconds is not None:
        env |= {f"{s.upper()}_IDEMPOTENCY_CLAIM_LEASE_SECONDS": str(args.claim_lease_seconds) for s in SERVICES}
    platform = Platform(layout, extra_env=env)
    kills = [s for s in args.kill.split(",") if s]
    plan = [(rng.uniform(0.1, 0.8), "cut") for _ in range(args.cuts)]
    plan += [(rng.uniform(0.1, 0.85), service) for service in kills]
    if use_pg and not args.no_postgres_restart:
        plan.append((rng.uniform(0.2, 0.8), "postgres"))
    plan.sort()
    tally, faults = Tally(), []
    report: dict = {"operations_asked": args.operations, "database": "postgresql" if use_pg else "sqlite", "seed": args.seed}
    try:
        await asyncio.to_thread(platform.start)
        clients = await demo_clients(layout, work / "credentials.json")
        credentials = next(c for c in clients if c["role"] == "insurer")
        chains = max(1, args.operations // STEPS_PER_CHAIN)
        started = time.monotonic()
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=40, limits=limits) as client:
            insurer = Insurer(client, credentials, tally)
            await insurer.login()
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(chains):
                queue.put_nowait(n)

            async def worker() -> None:
                while not queue.empty():
                    n = queue.get_nowait()
                    try:
                        await chain(insurer, n, args.seed % 10_000)
                        tally.chains_completed += 1
                    except RuntimeError as exc:
                        tally.chains_failed.append(str(exc)[:200])

            def progress() -> float:
                return (tally.chains_completed + len(tally.chains_failed)) / chains

            injector = asyncio.create_task(inject(platform, proxy, progress, plan, args.cut_seconds, faults))
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            await injector
        traffic_seconds = time.monotonic() - started
        settled = await drained(layout, timeout=args.drain_seconds)
        report |= {
            "traffic_seconds": round(traffic_seconds, 1),
            "operations_done": tally.operations, "operations_per_second": round(tally.operations / traffic_seconds, 1),
            "attempts": {"succeeded": tally.ok, "clear_errors": tally.clear_errors, "unclear": len(tally.unclear), "retried": tally.retried,
                         "by_status": tally.by_status, "unclear_sample": tally.unclear[:10],
                         "waited_for_event": tally.waited_for_event},
            "chains": {"completed": tally.chains_completed, "failed": len(tally.chains_failed), "failed_sample": tally.chains_failed[:5]},
            "faults": faults, "drained": settled,
            "reconciliation": await reconcile(layout),
        }
    finally:
        report["server_errors"] = server_errors(work / "var" / "logs")
        await asyncio.to_thread(platform.stop)
        await proxy.close()
        if use_pg:
            for component in ("gateway", *SERVICES):
                try:
                    _psql(f"DROP DATABASE IF EXISTS faults_{component}_{suffix} WITH (FORCE)")
                except subprocess.CalledProcessError:
                    pass
        shutil.rmtree(work, ignore_errors=True)
    r = report["reconciliation"]
    report["passed"] = bool(
        report["drained"] and not report["chains"]["failed"] and r["lost"] == 0 and r["applied_twice"] == 0 and r["enterprise_revision_mismatch"] == 0
        and r["policies_missing_in_hub"] == 0 and r["policies_missing_in_claims"] == 0 and report["attempts"]["unclear"] == 0
        and not any(r["dead_lettered"].values())
    )
    return report


def markdown(report: dict) -> str:
    r, a = report["reconciliation"], report["attempts"]
    lines = [
        "# Fault-injection run", "",
        f"{report['operations_done']} of {report['operations_asked']} operations on {report['database']} in {report['traffic_seconds']} s "
        f"({report['operations_per_second']}/s), seed {report['seed']}: **{'passed' if report['passed'] else 'FAILED'}**.", "",
        "| fault | at share of run | took (s) |", "| --- | --- | --- |",
        *[f"| {f['fault']} | {f['at_share']:.0%} | {f['seconds']} |" for f in report["faults"]], "",
        f"Attempts: {a['succeeded']} succeeded, {a['clear_errors']} failed with a clear error (problem+json), "
        f"{a['unclear']} unclear; {a['retried']} retried with their idempotency key; {a.get('waited_for_event', 0)} answered that the "
        f"policy was not known yet (its event still on the way) and were asked again. By status: {a['by_status']}.", "",
        f"Reconciliation: {sum(r['events_written'].values())} events written {r['events_written']}, {r['events_archived']} archived by the hub; "
        f"lost {r['lost']}, applied twice {r['applied_twice']}; {r['enterprises']} enterprises, revision mismatches {r['enterprise_revision_mismatch']}; "
        f"{r['policies']} policies, missing in the hub {r['policies_missing_in_hub']}, in claims {r['policies_missing_in_claims']}; "
        f"dead-lettered {r['dead_lettered']}.",
    ]
    causes = [(process, cause, n) for process, counts in report.get("server_errors", {}).items() for cause, n in counts.items()]
    if causes:
        lines += ["", "What the 500s were (from the processes' logs):", "", "| process | error | count |", "| --- | --- | --- |",
                  *[f"| {process} | {cause.replace('|', '/')} | {n} |" for process, cause, n in causes]]
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--operations", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--cuts", type=int, default=2)
    p.add_argument("--cut-seconds", type=float, default=10.0)
    p.add_argument("--kill", default=",".join(SERVICES), help="services to SIGKILL once each, comma-separated ('' for none)")
    p.add_argument("--postgres", choices=("auto", "yes", "no"), default="auto")
    p.add_argument("--no-postgres-restart", action="store_true")
    p.add_argument("--drain-seconds", type=float, default=180.0)
    p.add_argument("--claim-lease-seconds", type=float, default=None,
                   help="lease of an Idempotency-Key claimed by a killed request (services' default: 60 s)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--output", type=Path, default=RESULTS / "faults")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    report = asyncio.run(run(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    args.output.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
