"""Verification codes (SMS, 1-won) are stored as keyed digests; codes stored as argon2id before
still verify until they expire. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from certcenter.authn.codes import PreparedCode, VerificationCodes
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import new_id
from certcenter.errors import CertCenterError

TTL = timedelta(seconds=180)


def issue(center: Center, codes: VerificationCodes, prepared: PreparedCode, flow: str) -> None:
    with center.uow_factory() as uow:
        codes.issue(
            uow,
            enrollment_id=flow,
            purpose="phone",
            target="01020000001",
            prepared=prepared,
            ttl=TTL,
            max_tries=5,
        )
        uow.commit()


def check(center: Center, codes: VerificationCodes, flow: str, submitted: str) -> None:
    with center.uow_factory() as uow:
        codes.check(uow, enrollment_id=flow, purpose="phone", submitted=submitted)
        uow.commit()


def refusal(center: Center, codes: VerificationCodes, flow: str, submitted: str) -> str:
    with pytest.raises(CertCenterError) as caught:
        check(center, codes, flow, submitted)
    return caught.value.code


def stored_hash(center: Center, flow: str) -> str:
    with center.uow_factory() as uow:
        code = uow.codes.latest(flow, "phone")
        assert code is not None
        return code.code_hash


def test_the_stored_code_is_a_keyed_digest(center: Center, clock: FrozenClock) -> None:
    codes = VerificationCodes(center.hasher, clock)
    prepared = codes.prepare("phone", digits=6)
    flow = new_id()
    issue(center, codes, prepared, flow)
    stored = stored_hash(center, flow)
    assert stored.startswith("hmac-sha256$") and prepared.plain not in stored
    assert hashlib.sha256(prepared.plain.encode()).hexdigest() not in stored
    assert stored == center.hasher.code_digest(prepared.plain, purpose="code:phone")


def test_a_wrong_code_is_refused_and_the_right_one_accepted_once(
    center: Center, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[bytes] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    codes = VerificationCodes(center.hasher, clock)
    prepared = codes.prepare("phone", digits=6)
    wrong = "000000" if prepared.plain != "000000" else "111111"
    flow = new_id()
    issue(center, codes, prepared, flow)
    assert refusal(center, codes, flow, wrong) == "CODE_INVALID"
    check(center, codes, flow, prepared.plain)
    assert refusal(center, codes, flow, prepared.plain) == "CODE_USED"
    stored = stored_hash(center, flow).encode()
    assert compared == [stored, stored]  # both guesses compared in constant time


def test_a_code_stored_as_argon2id_before_verifies_until_it_expires(
    center: Center, clock: FrozenClock
) -> None:
    codes = VerificationCodes(center.hasher, clock)
    legacy = PreparedCode("482913", center.hasher.hash("482913", purpose="code:phone"))
    flow, late = new_id(), new_id()
    issue(center, codes, legacy, flow)
    issue(center, codes, legacy, late)
    assert stored_hash(center, flow).startswith("$argon2id$")
    assert refusal(center, codes, flow, "482914") == "CODE_INVALID"
    check(center, codes, flow, "482913")
    clock.advance(seconds=int(TTL.total_seconds()))
    assert refusal(center, codes, late, "482913") == "CODE_EXPIRED"
