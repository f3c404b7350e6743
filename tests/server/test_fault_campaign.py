"""bench/fault_campaign.py: the campaign itself, two kills on SQLite (the full one, 20 kills on
SQLite and PostgreSQL, is run by hand: docs/operations.md), and its checks, which must find
what is missing."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from certcenter.bootstrap import Center
from certcenter.pki.pem import certificate_pem
from tests.support.flow import FlowFactory
from tests.usage.support import issued

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def campaign() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("fault_campaign")
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_two_kills_under_load_lose_nothing(tmp_path: Path) -> None:
    """Two kills on SQLite: the audit trail verifies, every certificate, revocation and
    transfer a client was told of is there, no certificate intent is left pending, and every
    webhook message arrived with a good HMAC, and no transfer cut off while the bank was asked
    is left ``processing`` once it is reconciled with the bank's record."""
    figures = tmp_path / "figures.json"
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH / "fault_campaign.py"),
            "--kills", "2", "--clients", "3", "--min-run", "3", "--max-run", "6",
            "--seed", "7", "--drain-seconds", "60", "--json", str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
        cwd=tmp_path,
    )  # fmt: skip
    assert figures.exists(), run.stdout + run.stderr
    (campaign,) = json.loads(figures.read_text())
    assert campaign["kills"] == 2 and campaign["audit_broken"] == 0, run.stdout
    assert set(campaign["lost"].values()) == {0}, run.stdout
    assert campaign["bad_signatures"] == 0
    assert campaign["operations"].get("enrolment", 0) > 0, run.stdout  # there was load
    assert campaign["webhook_deliveries"] > 0  # and notifications to deliver
    assert sum(line.startswith("[sqlite] kill ") for line in run.stdout.splitlines()) == 2


def test_the_checks_find_a_certificate_a_revocation_and_a_transfer_that_are_not_there(
    campaign: ModuleType, center: Center, new_flow: FlowFactory
) -> None:
    flow = issued(new_flow)
    certificate = flow.keystore.certificate()
    assert certificate is not None
    serial = flow.current_serial()
    told = campaign.Told()
    told.issued[serial] = certificate_pem(certificate)
    result = campaign.Check()
    campaign._check_records(center.uow_factory, told, result)
    assert result.missing_certificates == 0, result.notes  # it is there, with its DER
    campaign._check_stuck(center.uow_factory, result, datetime.now(UTC))
    assert (result.stuck_intents, result.stuck_transfers) == (0, 0)

    told.issued["00DEADBEEF"] = certificate_pem(certificate)  # handed out, never recorded
    told.revoked.add(serial)  # told revoked: it is active
    told.transfers.add("no-such-transfer")
    result = campaign.Check()
    campaign._check_records(center.uow_factory, told, result)
    assert (result.missing_certificates, result.missing_revocations) == (1, 1)
    assert result.missing_transfers == 1
    assert result.lost == 3
    # a record whose DER differs from what the client was handed is not its record
    other = new_flow("C002")
    other.through("csr")
    told = campaign.Told()
    told.issued[serial] = certificate_pem(other.keystore.certificate())
    result = campaign.Check()
    campaign._check_records(center.uow_factory, told, result)
    assert result.missing_certificates == 1
