"""The fast subset of the fault-injection run (``make faults`` runs the full one, see bench/faults.py).

The whole platform as processes, a TCP proxy between the services and the broker; while 135
business operations (15 chains of nine, over the policy, claims and prevention services) run
through the gateway, the broker is cut once and the policy service and
the monitoring hub are each killed with SIGKILL and started again. Afterwards nothing is lost,
nothing applied twice, and every request succeeded or failed with a clear problem+json error.
"""

from __future__ import annotations

import pytest

from bench.faults import parser, run

pytestmark = pytest.mark.e2e


async def test_traffic_survives_a_broker_cut_and_killed_services(tmp_path):
    args = parser().parse_args([
        "--operations", "135", "--concurrency", "4", "--cuts", "1", "--cut-seconds", "3",
        "--kill", "policy,monitoring", "--postgres", "no", "--claim-lease-seconds", "5", "--drain-seconds", "90",
        "--output", str(tmp_path / "faults"),
    ])
    report = await run(args)
    reconciliation, attempts = report["reconciliation"], report["attempts"]
    assert len(report["faults"]) == 3, report["faults"]
    assert report["drained"], "every outbox drained and every event reached the hub"
    assert report["chains"]["failed"] == 0, report["chains"]
    assert report["operations_done"] == 135
    assert attempts["unclear"] == 0, attempts["unclear_sample"]
    written = reconciliation["events_written"]
    # Per chain: enterprise, change, policy, premium from policy; the accident from claims; the premium's
    # accrual, the hazard found and its first status from prevention.
    assert written == {"policy": 60, "claims": 15, "prevention": 45, "monitoring": 0}
    assert sum(written.values()) == reconciliation["events_archived"]
    assert reconciliation["lost"] == 0 and reconciliation["applied_twice"] == 0
    assert reconciliation["enterprise_revision_mismatch"] == 0
    assert reconciliation["policies"] == 15 and reconciliation["policies_missing_in_hub"] == 0
    assert reconciliation["policies_missing_in_claims"] == 0
    assert report["passed"]
