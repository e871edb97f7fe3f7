"""The embedded default: one command runs the whole platform on this machine.

Starts the Tansu broker, migrates every component's SQLite database under ``var/``, starts the
gateway and the four services as separate processes, creates a demo API client for every role
(credentials in ``var/demo-credentials.json``), loads a little demo data through the gateway,
and prints the URLs. Ctrl-C stops every process it started.

    python -m devstack [--var-dir var] [--gateway-port 8000] [--broker-port 9092] [--no-demo-data]
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import os
import signal
import sys
import time
from pathlib import Path

from devstack.platform import SERVICES, Layout, Platform, demo_clients, load_demo_data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the whole 安责险 platform on its embedded default.")
    parser.add_argument("--var-dir", default=os.environ.get("ANZEXIAN_VAR_DIR", "var"), type=Path)
    parser.add_argument("--host", default=os.environ.get("ANZEXIAN_HOST", "127.0.0.1"))
    parser.add_argument("--gateway-port", default=int(os.environ.get("ANZEXIAN_GATEWAY_PORT", 8000)), type=int,
                        help="gateway port; the services take the next four")
    parser.add_argument("--broker-port", default=int(os.environ.get("ANZEXIAN_BROKER_PORT", 9092)), type=int)
    parser.add_argument("--no-demo-data", action="store_true")
    args = parser.parse_args(argv)

    layout = Layout(args.var_dir, args.host, args.gateway_port, args.broker_port)
    platform = Platform(layout)
    logs = platform.logs

    def shutdown(*_):
        raise KeyboardInterrupt

    # Installed explicitly: Python leaves SIGINT ignored when it starts with it ignored (a launcher
    # started in the background of a script, or under a test runner started that way), and Ctrl-C
    # must stop the platform however it was started.
    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    # `kill -USR1 <pid>` prints where every thread of the launcher is: for a launcher that seems stuck.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        print(f"starting the broker (Tansu) on {layout.host}:{layout.broker_port}, migrating {layout.var_dir}/, starting 5 processes …", flush=True)
        platform.start()
        gateway_url = platform.gateway_url
        credentials = layout.var_dir / "demo-credentials.json"
        clients = asyncio.run(demo_clients(layout, credentials))
        credentials.write_text(json.dumps({"gateway": gateway_url, "clients": clients}, ensure_ascii=False, indent=2))
        os.chmod(credentials, 0o600)
        loaded = 0
        if not args.no_demo_data:
            try:
                loaded = load_demo_data(gateway_url, clients)
            except Exception as exc:  # the platform is still useful without demo data; say why it is missing
                print(f"warning: demo data not loaded ({exc!r}); see {logs}/gateway.log", flush=True)

        print("\n安责险 platform is running (embedded default). Ctrl-C stops everything.\n")
        print(f"  gateway        {gateway_url}")
        print(f"  API docs       {gateway_url}/docs  (merged OpenAPI: {gateway_url}/openapi.json)")
        for service in SERVICES:
            print(f"  {service:<14} {layout.url(service)}   via gateway: {gateway_url}/api/v1/{service}/")
        print(f"  broker         {layout.host}:{layout.broker_port}")
        print(f"  logs           {logs}/")
        print(f"  demo data      {loaded} enterprises registered through the gateway")
        print(f"\nDemo API clients (also in {credentials}):")
        for c in clients:
            print(f"  {c['role']:<19} {c['tenant']:<17} client_id={c['client_id']}  client_secret={c['client_secret']}")
        print(flush=True)
        while True:
            gone = platform.exited()
            if gone:
                print(f"{gone[0]} exited with {gone[1]}; see {logs}/{gone[0]}.log — stopping.", flush=True)
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping …", flush=True)
        return 0
    finally:
        platform.stop()


if __name__ == "__main__":
    sys.exit(main())
