"""One renewal only: a certificate renewed by several requests at once has exactly one
successor; the other requests are told so or refused by name, and leave nothing behind."""

from __future__ import annotations

import concurrent.futures
import threading

from certcenter.authn.device_auth import challenge_message
from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.lifecycle.customer_actions import DeviceProof
from tests.lifecycle.support import PIN
from tests.support.flow import FlowFactory

THREADS = 8


def test_concurrent_renewals_of_one_certificate_make_one_new_certificate(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    device = flow.keystore.device()
    assert device is not None
    serial = flow.current_serial()
    # each request with its own challenge and signature, all made before any is sent
    proofs = []
    for _ in range(THREADS):
        challenge = center.customer_actions.challenge(device.device_id, "renew").challenge
        signature = flow.keystore.sign(challenge_message("renew", challenge))
        proofs.append(DeviceProof(device.device_id, challenge, signature, PIN))
    start = threading.Barrier(THREADS)

    def renew(proof: DeviceProof) -> tuple[str, str | None]:
        start.wait(timeout=30)
        try:
            outcome = center.customer_actions.renew(serial, proof, "10.0.0.8")
        except CertCenterError as err:
            return err.code, None
        return ("renewed" if outcome.changed else "already renewed"), outcome.replaced_by

    with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(renew, proofs))
    renewed = [successor for what, successor in answers if what == "renewed"]
    assert len(renewed) == 1, answers
    # the others: told it is renewed already (naming the same successor), or refused because
    # the device's certificate is no longer the one they name
    for what, successor in answers:
        if what == "already renewed":  # naming the successor where the answer has it
            assert successor in (None, renewed[0]), answers
        elif what != "renewed":
            assert what in ("CERTIFICATE_NOT_FOUND", "AUTH_BUSY"), answers
    with center.uow_factory(read_only=True) as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        certificates = uow.certificates.for_customer(customer.id, family="mobile")
        old = uow.certificates.get(serial)
    successors = [c for c in certificates if c.renewed_from == serial]
    assert len(successors) == 1, [(c.serial, c.status, c.renewed_from) for c in certificates]
    assert successors[0].serial == renewed[0] and successors[0].status == "active"
    assert old is not None and old.status == "superseded"
    assert old.replaced_by == successors[0].serial
    assert [c.serial for c in certificates if c.status in ("active", "suspended")] == [
        successors[0].serial
    ]
    assert not [c for c in certificates if c.status == "pending"]
