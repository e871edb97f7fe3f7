"""The README's first command, tried as a new user would: the launcher brings up the whole platform.

Runs ``python -m devstack`` (what ``make run`` runs) as a subprocess with its own var dir and ports,
then checks through the gateway: health, every service's readiness, a token for every demo role,
the merged OpenAPI, an event flowing from the policy service to the monitoring hub; then Ctrl-C
stops every process it started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from contracts.enums import Role
from devstack.broker import free_port, free_ports

pytestmark = pytest.mark.e2e


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_one_command_runs_the_whole_platform_and_ctrl_c_stops_it(tmp_path):
    base, broker_port = free_ports(5), free_port()
    var = tmp_path / "var"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--var-dir", str(var), "--gateway-port", str(base), "--broker-port", str(broker_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        text=True,
    )
    gateway = f"http://127.0.0.1:{base}"
    try:
        printed = []
        deadline = time.monotonic() + 120  # start, migrate, demo data through the gateway, on a busy 2-core machine
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            if not line and launcher.poll() is not None:
                break
            printed.append(line)
            if line.startswith("Demo API clients"):
                break
        output = "".join(printed)
        assert "Demo API clients" in output, output
        assert gateway in output

        with httpx.Client(base_url=gateway, timeout=10) as client:
            assert client.get("/healthz").status_code == 200
            for service in ("policy", "claims", "prevention", "monitoring"):
                ready = client.get(f"/api/v1/{service}/readyz")
                assert ready.status_code == 200, (service, ready.text)

            credentials = json.loads((var / "demo-credentials.json").read_text())
            assert {c["role"] for c in credentials["clients"]} == {r.value for r in Role}
            tokens = {}
            for c in credentials["clients"]:
                issued = client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]},
                )
                assert issued.status_code == 200, issued.text
                tokens[c["tenant"]] = issued.json()["access_token"]

            paths = client.get("/openapi.json").json()["paths"]
            assert "/oauth/token" in paths and "/api/v1/policy/enterprises" in paths and "/api/v1/monitoring/enterprises" in paths

            # The demo data went in through the gateway and reached the city hub through the broker.
            admin = {"Authorization": f"Bearer {tokens['EMB-CITY']}"}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                items = client.get("/api/v1/monitoring/enterprises", headers=admin).json()["items"]
                if len(items) >= 6:
                    break
                time.sleep(0.3)
            assert len(items) >= 6
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            launcher.send_signal(signal.SIGUSR1)  # the launcher prints its threads' stacks
            time.sleep(1)
            launcher.kill()
            pytest.fail(f"the launcher did not stop within 30 s of Ctrl-C; its output:\n{launcher.stdout.read()[-6000:]}")
    time.sleep(0.5)
    assert not any(_listening(port) for port in [*range(base, base + 5), broker_port]), "a process outlived Ctrl-C"
