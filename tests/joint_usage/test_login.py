"""Login with the joint certificate: the challenge signed with the RSA key of the NPKI folder,
the certificate issued by this center's joint CA and active, the challenge used once and in
time; every refusal has its catalog code and is counted by the risk rules."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from certcenter.authn.device_auth import challenge_message
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import Session
from certcenter.errors import CertCenterError
from certcenter.joint.login import PURPOSE, STEP, JointLoginAttempt, JointLoginResult
from certcenter.npki import read_folder
from certcenter.pki.vid import vid_other_name
from certcenter.storage.tables import audit_log, failures
from tests.joint.support import rrn_of, rsa_key
from tests.joint_usage.support import PASSWORD, JointHolder, joint_holder
from tests.support.throwaway_ca import ThrowawayCa

IP = "211.36.1.1"


def _login(
    center: Center, holder: JointHolder, *, sign: Callable[[bytes], str] | None = None, **extra
) -> JointLoginResult:  # type: ignore[no-untyped-def]
    issued = center.joint_login.challenge()
    message = challenge_message(PURPOSE, issued.challenge)
    fields: dict[str, object] = {"certificate_der": holder.der, **extra}
    return center.joint_login.login(
        JointLoginAttempt(issued.challenge, (sign or holder.sign)(message), source_ip=IP, **fields)
    )


def _refused(work: Callable[[], object]) -> CertCenterError:
    with pytest.raises(CertCenterError) as caught:
        work()
    return caught.value


def _counted(center: Center) -> list[str]:
    """The codes of the joint logins' failures the risk rules recorded."""
    with center.uow_factory() as uow:
        rows = uow.session.execute(  # type: ignore[attr-defined]
            select(failures.c.code).where(failures.c.step == STEP)
        )
        return [row.code for row in rows]


def test_login_opens_a_joint_session(center: Center, tmp_path: Path) -> None:
    holder = joint_holder(center, tmp_path)
    # the software opens the folder with the certificate password and signs with its key
    opened = read_folder(holder.folder, PASSWORD)
    assert opened.key.random_num == holder.random_num
    result = _login(center, holder)
    assert result.certificate_serial == holder.serial
    assert result.customer.customer_number == "C001"
    assert not result.identity_checked
    session = center.sessions.resolve(result.token)
    assert isinstance(session, Session)
    assert (session.method, session.certificate_serial) == ("joint", holder.serial)
    with center.uow_factory() as uow:
        record = uow.certificates.get(holder.serial)
        assert record is not None and record.last_used_at is not None
    # the serial alone names the certificate as well
    assert _login(center, holder, certificate_der=None, serial=holder.serial.lower()).token
    assert _counted(center) == []


def test_the_resident_number_is_checked_against_the_vid(center: Center, tmp_path: Path) -> None:
    holder = joint_holder(center, tmp_path)
    checked = _login(center, holder, rrn=rrn_of("C001"), random_num=holder.random_num)
    assert checked.identity_checked
    wrong = rrn_of("C002")
    err = _refused(lambda: _login(center, holder, rrn=wrong, random_num=holder.random_num))
    assert err.code == "JOINT_VID_MISMATCH"
    err = _refused(lambda: _login(center, holder, rrn=rrn_of("C001"), random_num=b"\x00" * 20))
    assert err.code == "JOINT_VID_MISMATCH"
    assert _counted(center) == ["JOINT_VID_MISMATCH", "JOINT_VID_MISMATCH"]
    # the number is in no log nor table
    with center.uow_factory() as uow:
        session = uow.session  # type: ignore[attr-defined]
        kept = repr(session.execute(select(audit_log.c.details)).all())
        kept += repr(session.execute(select(failures)).all())
    for number in (rrn_of("C001"), wrong):
        assert number not in kept and number.replace("-", "") not in kept


def test_refusals_have_their_codes_and_are_counted(
    center: Center, clock: FrozenClock, tmp_path: Path
) -> None:
    holder = joint_holder(center, tmp_path)
    other = joint_holder(center, tmp_path, "C002", index=1)
    expected: list[str] = []

    def refused(code: str, work: Callable[[], object]) -> None:
        assert _refused(work).code == code
        expected.append(code)
        assert sorted(_counted(center)) == sorted(expected)

    # a signature over other bytes, and one by another certificate's key
    refused(
        "JOINT_SIGNATURE_INVALID",
        lambda: _login(center, holder, sign=lambda m: holder.sign(m + b"!")),
    )
    refused(
        "JOINT_SIGNATURE_INVALID",
        lambda: _login(center, holder, sign=lambda m: holder.sign(m, key=other.key)),
    )
    refused(
        "JOINT_SIGNATURE_INVALID", lambda: _login(center, holder, sign=lambda m: "bm90IGEgc2ln")
    )

    # a certificate of a foreign CA, even with the same key
    foreign = ThrowawayCa.make("yessign").issue(
        "홍길동()0012345678901234",
        key=rsa_key(0),
        vid=vid_other_name("홍길동", rrn_of("C001"), holder.random_num),
    )
    foreign_der = foreign.certificate.public_bytes(Encoding.DER)
    refused(
        "JOINT_CERTIFICATE_UNKNOWN", lambda: _login(center, holder, certificate_der=foreign_der)
    )
    refused(
        "JOINT_CERTIFICATE_UNKNOWN",
        lambda: _login(center, holder, certificate_der=None, serial="ABCDEF0123"),
    )
    refused("JOINT_CERTIFICATE_UNKNOWN", lambda: _login(center, holder, certificate_der=b"junk"))

    # a replayed challenge: used once, then refused
    issued = center.joint_login.challenge()
    signature = holder.sign(challenge_message(PURPOSE, issued.challenge))
    attempt = JointLoginAttempt(
        issued.challenge, signature, certificate_der=holder.der, source_ip=IP
    )
    assert center.joint_login.login(attempt).token
    refused("CHALLENGE_INVALID", lambda: center.joint_login.login(attempt))

    # an expired challenge
    issued = center.joint_login.challenge()
    signature = holder.sign(challenge_message(PURPOSE, issued.challenge))
    clock.advance(seconds=center.settings.policy.challenge_ttl_seconds + 1)
    late = JointLoginAttempt(issued.challenge, signature, certificate_der=holder.der, source_ip=IP)
    refused("CHALLENGE_INVALID", lambda: center.joint_login.login(late))

    # a challenge of the mobile login is not one of the joint login
    mobile = center.login.challenge("some-device")
    signature = holder.sign(challenge_message(PURPOSE, mobile.challenge))
    crossed = JointLoginAttempt(
        mobile.challenge, signature, certificate_der=holder.der, source_ip=IP
    )
    refused("CHALLENGE_INVALID", lambda: center.joint_login.login(crossed))

    # a revoked joint certificate
    center.joint_authority.revoke(holder.certificate, reason=x509.ReasonFlags.key_compromise)
    refused("CERTIFICATE_REVOKED", lambda: _login(center, holder))

    # the other customer is not affected
    assert _login(center, other).customer.customer_number == "C002"


def test_bad_signatures_block_the_address_not_the_owner(center: Center, tmp_path: Path) -> None:
    holder = joint_holder(center, tmp_path)
    limit = center.settings.policy.failure_max_in_window_per_address
    for _ in range(limit):
        err = _refused(lambda: _login(center, holder, sign=lambda m: holder.sign(m + b"!")))
        assert err.code == "JOINT_SIGNATURE_INVALID"
    # the address is blocked now, even with the right key …
    assert _refused(lambda: _login(center, holder)).code == "TOO_MANY_ATTEMPTS"
    # … but naming the certificate blocked nothing of its owner's: from elsewhere it works
    issued = center.joint_login.challenge()
    signature = holder.sign(challenge_message(PURPOSE, issued.challenge))
    elsewhere = JointLoginAttempt(
        issued.challenge, signature, certificate_der=holder.der, source_ip="211.36.9.9"
    )
    assert center.joint_login.login(elsewhere).token


def test_failures_proven_with_the_key_block_the_owner(center: Center, tmp_path: Path) -> None:
    holder = joint_holder(center, tmp_path)
    limit = center.settings.policy.failure_max_in_window
    wrong = rrn_of("C002")
    for _ in range(limit):
        err = _refused(lambda: _login(center, holder, rrn=wrong, random_num=holder.random_num))
        assert err.code == "JOINT_VID_MISMATCH"
    issued = center.joint_login.challenge()
    signature = holder.sign(challenge_message(PURPOSE, issued.challenge))
    elsewhere = JointLoginAttempt(
        issued.challenge, signature, certificate_der=holder.der, source_ip="211.36.9.9"
    )
    assert _refused(lambda: center.joint_login.login(elsewhere)).code == "TOO_MANY_ATTEMPTS"


def test_bad_input_is_refused_before_anything(center: Center, tmp_path: Path) -> None:
    holder = joint_holder(center, tmp_path)
    issued = center.joint_login.challenge()
    neither = JointLoginAttempt(issued.challenge, "c2ln", source_ip=IP)
    assert _refused(lambda: center.joint_login.login(neither)).code == "INVALID_REQUEST"
    no_random = JointLoginAttempt(
        issued.challenge, "c2ln", certificate_der=holder.der, rrn=rrn_of("C001")
    )
    assert _refused(lambda: center.joint_login.login(no_random)).code == "INVALID_REQUEST"
    assert "rrn" not in repr(no_random).replace("rrn=…", "")
    assert base64.b64encode(holder.random_num).decode() not in repr(no_random)
