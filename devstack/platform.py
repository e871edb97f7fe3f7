"""The embedded default's processes: broker, migrated SQLite databases, gateway and four services.

Used by the launcher (``python -m devstack``) and by the benchmarks, so both run the same thing.

Starts the Tansu broker, creates the topics, migrates every component's SQLite database under
``var/``, starts the gateway and the four services as separate processes, creates a demo API
client for every role (credentials in ``var/demo-credentials.json``), loads a little demo data
through the gateway, and prints the URLs. Ctrl-C stops every process it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.broker import EmbeddedBroker
from devstack.demo import load_demo_data  # noqa: F401  (re-exported for the launcher)
from kernel.migrate import upgrade

SERVICES = ("policy", "claims", "prevention", "monitoring")

# One demo client per role; bureau clients carry the industries they supervise.
DEMO_CLIENTS = (
    {"name": "演示保险公司甲 Demo insurer A", "role": "insurer", "tenant": "INS-DEMO-A"},
    {"name": "演示保险公司乙 Demo insurer B", "role": "insurer", "tenant": "INS-DEMO-B"},
    {"name": "演示技术服务机构 Demo service institution", "role": "service_org", "tenant": "ORG-DEMO-1"},
    {"name": "住建委 Housing & construction bureau", "role": "bureau", "tenant": "BUREAU-HOUSING", "industries": ["CONSTRUCTION"]},
    {"name": "交通委 Transport bureau", "role": "bureau", "tenant": "BUREAU-TRANSPORT", "industries": ["TRANSPORT"]},
    {"name": "应急管理局 Emergency management bureau", "role": "emergency_admin", "tenant": "EMB-CITY"},
    {"name": "金融监管局 Financial regulator", "role": "finance_regulator", "tenant": "NFRA-CITY"},
    {"name": "市级平台 Municipal platform", "role": "municipal_platform", "tenant": "CITY-PLATFORM"},
)


@dataclass
class Layout:
    var_dir: Path
    host: str
    gateway_port: int
    broker_port: int
    # Where the clients reach the broker when something (a fault-injection proxy) stands in between.
    client_broker_port: int | None = None
    # Databases elsewhere than SQLite under var_dir (e.g. PostgreSQL for the fault run), by component.
    database_urls: dict[str, str] = field(default_factory=dict)

    def port(self, service: str) -> int:
        return self.gateway_port + 1 + SERVICES.index(service)

    def url(self, service: str) -> str:
        return f"http://{self.host}:{self.port(service)}"

    def database_url(self, component: str) -> str:
        if component in self.database_urls:
            return self.database_urls[component]
        return f"sqlite+aiosqlite:///{(self.var_dir / f'{component}.db').resolve()}"

    def environment(self) -> dict[str, str]:
        keys = self.var_dir / "keys"
        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": f"{self.host}:{self.client_broker_port or self.broker_port}",
                "KAFKA_ENABLE_IDEMPOTENCE": "false",  # Tansu refuses InitProducerId
                "JWT_PUBLIC_KEY_FILE": str((keys / "jwt-public.pem").resolve()),
                "GATEWAY_JWT_PRIVATE_KEY_FILE": str((keys / "jwt-private.pem").resolve()),
                "GATEWAY_DATABASE_URL": self.database_url("gateway"),
            }
        )
        for service in SERVICES:
            env[f"{service.upper()}_DATABASE_URL"] = self.database_url(service)
            env[f"GATEWAY_{service.upper()}_URL"] = self.url(service)
        return env


def _start(name: str, args: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    log = open(logs / f"{name}.log", "ab")
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _uvicorn(target: str, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", target, "--factory", "--host", host, "--port", str(port), "--no-access-log"]


def _wait_ready(url: str, process: subprocess.Popen | None = None, log: Path | None = None, timeout: float = 60.0) -> None:
    """Poll ``/readyz`` until it answers 200; fail at once, with the log's tail, if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"{url}: the process exited with code {process.returncode} before it was ready\n{tail}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} was not ready within {timeout}s")


async def demo_clients(layout: Layout, credentials: Path) -> list[dict]:
    """Reuse the demo clients of an earlier run while they still exist and are not revoked; else create them."""
    from gateway.cli import create_client_in, list_clients_in

    if credentials.exists():
        try:
            saved = json.loads(credentials.read_text())["clients"]
            active = {c["client_id"] for c in await list_clients_in(layout.database_url("gateway")) if not c.get("revoked_at")}
            if saved and all(c["client_id"] in active for c in saved):
                return saved
        except (ValueError, KeyError):
            pass
    created = []
    for spec in DEMO_CLIENTS:
        created.append(
            await create_client_in(
                layout.database_url("gateway"), spec["name"], spec["role"], spec["tenant"], industries=spec.get("industries", ())
            )
        )
    return created


class Platform:
    """Starts everything in order and stops every process it started, in reverse."""

    def __init__(self, layout: Layout, extra_env: dict[str, str] | None = None) -> None:
        self.layout = layout
        self.logs = layout.var_dir / "logs"
        self.env = layout.environment() | (extra_env or {})
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.broker = EmbeddedBroker(
            host=layout.host, port=layout.broker_port, log_path=self.logs / "broker.log", advertised_port=layout.client_broker_port
        )
        self.gateway_url = f"http://{layout.host}:{layout.gateway_port}"

    def start(self) -> "Platform":
        try:
            return self._start()
        except BaseException:
            self.stop()  # leave no process or broker behind when a part fails to come up
            raise

    def _start(self) -> "Platform":
        from gateway.keys import ensure_keypair

        self.logs.mkdir(parents=True, exist_ok=True)
        self.broker.start()
        ensure_keypair(self.layout.var_dir / "keys")
        for component in ("gateway", *SERVICES):
            upgrade(component, self.layout.database_url(component))
        for service in SERVICES:
            self.processes.append((service, self._launch(service)))
        self.processes.append(("gateway", self._launch("gateway")))
        started = dict(self.processes)
        for service in SERVICES:
            _wait_ready(self.layout.url(service), started[service], self.logs / f"{service}.log")
        _wait_ready(self.gateway_url, started["gateway"], self.logs / "gateway.log")
        return self

    def _launch(self, name: str) -> subprocess.Popen:
        if name == "gateway":
            return _start(name, _uvicorn("gateway.app:create_app", self.layout.host, self.layout.gateway_port), self.env, self.logs)
        return _start(name, _uvicorn(f"services.{name}.app:create_app", self.layout.host, self.layout.port(name)), self.env, self.logs)

    def kill(self, name: str) -> None:
        """SIGKILL one process (fault injection): no shutdown hook runs."""
        proc = dict(self.processes)[name]
        proc.kill()
        proc.wait(timeout=10)

    def restart(self, name: str, wait: bool = True) -> None:
        """Start a process again after ``kill``, with the same command and environment."""
        proc = self._launch(name)
        self.processes = [(n, proc if n == name else p) for n, p in self.processes]
        if wait:
            url = self.gateway_url if name == "gateway" else self.layout.url(name)
            _wait_ready(url, proc, self.logs / f"{name}.log")

    def exited(self) -> tuple[str, int] | None:
        for name, proc in self.processes:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop(self, grace_seconds: float = 10.0) -> None:
        """Ctrl-C to every process at once; whatever has not exited when the shared grace period ends is killed.

        One deadline for all (not one per process), so stopping never takes much longer than the grace period.
        """
        for _, proc in reversed(self.processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + grace_seconds
        for name, proc in reversed(self.processes):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within {grace_seconds:.0f} s of Ctrl-C: killed (its log: {self.logs / (name + '.log')})", file=sys.stderr)
                proc.kill()
                proc.wait()
        self.processes.clear()
        self.broker.stop()
