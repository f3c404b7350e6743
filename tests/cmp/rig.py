"""The protocol tests' rig: a CMP server over the test's center (its storage, key backend and
clock) with the throwaway authority, and the CMP responder's certificate issued by the mobile CA
(the center's joint CA is the real authority's, see test_openssl_cmp.py)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from hypothesis import HealthCheck

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.cmp import CmpResponderKey, CmpServer, CmpTransactions, ConfirmationTimeout
from tests.cmp.cmp_client import Answer, read
from tests.cmp.throwaway import ThrowawayAuthority

REFERENCE = "10000001"
CODE = b"Ab3-xY9-Qz7"
FIXTURE = HealthCheck.function_scoped_fixture  # the rig is the same for every example
SUBJECT = x509.Name.from_rfc4514_string("CN=Hong Gildong,O=Test,C=KR")


@dataclass
class Rig:
    server: CmpServer
    authority: ThrowawayAuthority
    timeout: ConfirmationTimeout
    responder: CmpResponderKey
    clock: FrozenClock
    confirm_wait_seconds: int  # cmp_confirm_wait_seconds of the policy it was made with

    def send(self, der: bytes, *, status: int = 200) -> Answer:
        answer = self.server.handle(der)
        assert answer.http_status == status
        return read(answer.der)


def make_rig(center: Center, clock: FrozenClock) -> Rig:
    authority = ThrowawayAuthority(clock)
    authority.codes[REFERENCE] = CODE
    transactions = CmpTransactions(center.uow_factory, center.keys, "data-seal", clock)
    responder = CmpResponderKey(
        center.keys,
        center.settings,
        clock,
        issuer=lambda: center.hierarchy.issuing("mobile"),
        chain=lambda: center.hierarchy.chain("mobile"),
    )
    server = CmpServer(
        authority=authority,
        transactions=transactions,
        issued=authority,
        responder=responder,
        policy=center.settings.policy,
        clock=clock,
    )
    return Rig(
        server,
        authority,
        ConfirmationTimeout(transactions, authority),
        responder,
        clock,
        center.settings.policy.cmp_confirm_wait_seconds,
    )
