"""타기관 인증서 등록: a joint certificate the simulated other institution's CA issued is
registered to its holder (the chain to a configured CA, the validity, keyUsage, the CRL, the
signature over the challenge, the VID with the customer's own resident number), then logs
in through JointLogin; each refusal has its code. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from certcenter.authn.device_auth import challenge_message
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.config import OTHER_CA_DIR_NAME
from certcenter.errors import CertCenterError
from certcenter.joint import login as joint_login
from certcenter.joint import other as other_joint
from certcenter.joint.other import OtherRegistration
from certcenter.npki.pkcs12 import import_pfx
from certcenter.simulators.other_ca import DEMO_PFX_PASSWORD, IssuedOther, OtherCa, ensure_other_ca
from certcenter.storage.tables import audit_log, outbox
from certcenter.usage.login import JOINT_METHOD
from tests.joint.support import rrn_of

IP = "211.36.1.1"
_MADE: dict[str, Path] = {}  # the simulated CA made once per session, copied into each test


def _template(tmp_path_factory: pytest.TempPathFactory, clock: FrozenClock) -> Path:
    if "ca" not in _MADE:
        made = tmp_path_factory.mktemp("other-ca-template") / OTHER_CA_DIR_NAME
        ensure_other_ca(made, clock)
        _MADE["ca"] = made
    return _MADE["ca"]


@pytest.fixture
def other_ca(
    center: Center, clock: FrozenClock, tmp_path_factory: pytest.TempPathFactory
) -> OtherCa:
    """The simulated institution's CA in the test's data directory (where the settings'
    defaults point the center's trust)."""
    target = center.settings.data_dir / OTHER_CA_DIR_NAME
    if not target.exists():
        shutil.copytree(_template(tmp_path_factory, clock), target)
    return OtherCa(target)


def _customer_id(center: Center, number: str = "C001") -> str:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number(number)
        assert customer is not None
        return customer.id


def _issue(ca: OtherCa, clock: FrozenClock, person: str = "C001", **extra: object) -> IssuedOther:
    now = clock.now()
    names = {"C001": "김민준", "C002": "이서연"}
    values: dict[str, object] = {
        "not_before": now - timedelta(days=1),
        "not_after": now + timedelta(days=365),
        **extra,
    }
    return ca.issue(names[person], rrn_of(person), **values)  # type: ignore[arg-type]


def _sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _der(issued: IssuedOther) -> bytes:
    return issued.certificate.public_bytes(Encoding.DER)


def _register(
    center: Center,
    issued: IssuedOther,
    *,
    customer: str = "C001",
    rrn: str | None = None,
    random_num: bytes | None = None,
    signer: rsa.RSAPrivateKey | None = None,
) -> object:
    challenge = center.other_joint.challenge().challenge
    message = challenge_message(other_joint.PURPOSE, challenge)
    return center.other_joint.register(
        _customer_id(center, customer),
        OtherRegistration(
            challenge=challenge,
            signature=_sign(signer or issued.key, message),
            certificate_der=_der(issued),
            rrn=rrn or rrn_of(customer),
            random_num=issued.random_num if random_num is None else random_num,
            source_ip=IP,
        ),
    )


def _login(center: Center, issued: IssuedOther) -> joint_login.JointLoginResult:
    challenge = center.joint_login.challenge().challenge
    message = challenge_message(joint_login.PURPOSE, challenge)
    return center.joint_login.login(
        joint_login.JointLoginAttempt(
            challenge, _sign(issued.key, message), certificate_der=_der(issued), source_ip=IP
        )
    )


def _refused(work: object) -> str:
    with pytest.raises(CertCenterError) as caught:
        work()  # type: ignore[operator]
    return caught.value.code


def test_a_registered_certificate_logs_in_until_deregistered(
    center: Center, other_ca: OtherCa, clock: FrozenClock
) -> None:
    issued = _issue(other_ca, clock)
    # before registering: a clear refusal that says to register it first
    assert _refused(lambda: _login(center, issued)) == "JOINT_OTHER_CERTIFICATE_NOT_REGISTERED"
    registered = _register(center, issued)
    assert registered.serial == format(issued.certificate.serial_number, "X")  # type: ignore[attr-defined]
    [row] = center.other_joint.registered(_customer_id(center))
    assert row.issuer == "CN=DemoSign CA,O=DemoSign,C=KR"
    result = _login(center, issued)
    assert result.customer.customer_number == "C001"
    assert result.certificate_serial == "other:" + row.id
    session = center.sessions.resolve(result.token)
    assert session is not None and session.method == "joint"
    [again] = center.other_joint.registered(_customer_id(center))
    assert again.last_used_at is not None
    with center.uow_factory() as uow:
        session_ = uow.session  # type: ignore[attr-defined]
        actions = list(
            session_.execute(
                select(audit_log.c.action).where(audit_log.c.action.like("joint.other%"))
            ).scalars()
        )
        events = list(session_.execute(select(outbox.c.event)).scalars())
    assert actions == ["joint.other_registered"]
    assert "joint_other_registered" in events
    # the same certificate again: already registered (for anyone)
    assert (
        _refused(lambda: _register(center, issued)) == "JOINT_OTHER_CERTIFICATE_ALREADY_REGISTERED"
    )
    # 해지: someone else's id is not found; the holder's own works, then the login is refused
    assert (
        _refused(lambda: center.other_joint.deregister(_customer_id(center, "C002"), row.id))
        == "JOINT_OTHER_REGISTRATION_NOT_FOUND"
    )
    # the OpenID login's joint method: authenticate() proves it, the provider accepts the
    # registration as the certificate (checked again at the token: still registered)
    challenge = center.joint_login.challenge().challenge
    proof = center.joint_login.authenticate(
        joint_login.JointLoginAttempt(
            challenge,
            _sign(issued.key, challenge_message(joint_login.PURPOSE, challenge)),
            certificate_der=_der(issued),
            source_ip=IP,
        )
    )
    pending = SimpleNamespace(client_id="demo-site")
    who = center.oidc.certificate_login(
        pending,  # type: ignore[arg-type]
        JOINT_METHOD,
        proof.customer.id,
        proof.certificate_serial,
        proof.at,
    )
    assert who.certificate_serial == "other:" + row.id
    center.other_joint.deregister(_customer_id(center), row.id, source_ip=IP)
    assert (
        _refused(
            lambda: center.oidc.certificate_login(
                pending,  # type: ignore[arg-type]
                JOINT_METHOD,
                proof.customer.id,
                proof.certificate_serial,
                proof.at,
            )
        )
        == "CERTIFICATE_NOT_FOUND"
    )
    assert center.other_joint.registered(_customer_id(center)) == []
    assert _refused(lambda: _login(center, issued)) == "JOINT_OTHER_CERTIFICATE_NOT_REGISTERED"


def test_the_demo_file_opens_and_registers(
    center: Center, other_ca: OtherCa, clock: FrozenClock
) -> None:
    """The demo person's .pfx (what /demo offers) opens with its password and has R."""
    opened = import_pfx((other_ca.directory / "C001.pfx").read_bytes(), DEMO_PFX_PASSWORD)
    assert opened.random_num
    issued = IssuedOther(opened.certificate, opened.key, opened.random_num, ())  # type: ignore[arg-type]
    _register(center, issued)
    assert _login(center, issued).customer.customer_number == "C001"


def test_refusals_of_the_certificate(
    center: Center, other_ca: OtherCa, clock: FrozenClock, tmp_path: Path
) -> None:
    now = clock.now()
    # a CA the center does not trust (another "institution" nobody configured)
    stranger = ensure_other_ca(tmp_path / "stranger", clock, demo_file=False)
    unknown = _issue(stranger, clock)
    assert _refused(lambda: _register(center, unknown)) == "JOINT_OTHER_CA_UNTRUSTED"
    assert _refused(lambda: _login(center, unknown)) == "JOINT_CERTIFICATE_UNKNOWN"
    expired = _issue(
        other_ca, clock, not_before=now - timedelta(days=400), not_after=now - timedelta(days=1)
    )
    assert _refused(lambda: _register(center, expired)) == "JOINT_OTHER_CERTIFICATE_EXPIRED"
    no_usage = _issue(other_ca, clock, key_usage=False)
    assert _refused(lambda: _register(center, no_usage)) == "JOINT_OTHER_CERTIFICATE_UNSUITABLE"
    revoked = _issue(other_ca, clock)
    other_ca.revoke(revoked.certificate.serial_number, now)
    assert _refused(lambda: _register(center, revoked)) == "JOINT_OTHER_CERTIFICATE_REVOKED"
    # a registered certificate revoked later no longer logs in
    later = _issue(other_ca, clock)
    _register(center, later)
    other_ca.revoke(later.certificate.serial_number, now)
    assert _refused(lambda: _login(center, later)) == "JOINT_OTHER_CERTIFICATE_REVOKED"
    # without a current CRL nothing is accepted
    other_ca.crl_path.unlink()
    fresh = _issue(other_ca, clock)
    assert _refused(lambda: _register(center, fresh)) == "JOINT_OTHER_REVOCATION_UNKNOWN"


def test_refusals_of_the_holder(center: Center, other_ca: OtherCa, clock: FrozenClock) -> None:
    issued = _issue(other_ca, clock)
    # the key did not sign the challenge
    stranger_key = rsa.generate_private_key(65537, 2048)
    assert (
        _refused(lambda: _register(center, issued, signer=stranger_key))
        == "JOINT_SIGNATURE_INVALID"
    )
    # the right number with another R; another customer's number (not C001's own)
    assert (
        _refused(lambda: _register(center, issued, random_num=b"\x01" * 20)) == "JOINT_VID_MISMATCH"
    )
    assert _refused(lambda: _register(center, issued, rrn=rrn_of("C002"))) == "JOINT_VID_MISMATCH"
    # someone else's certificate: C002's, registered by C001 with C001's own number
    theirs = _issue(other_ca, clock, "C002")
    assert _refused(lambda: _register(center, theirs)) == "JOINT_VID_MISMATCH"
    # C002 registering C001's certificate with their own number
    assert _refused(lambda: _register(center, issued, customer="C002")) == "JOINT_VID_MISMATCH"
    assert _refused(lambda: _register(center, issued, rrn="12345")) == "RRN_INVALID"
    # the challenge is used once
    challenge = center.other_joint.challenge().challenge
    attempt = OtherRegistration(
        challenge=challenge,
        signature=_sign(issued.key, challenge_message(other_joint.PURPOSE, challenge)),
        certificate_der=_der(issued),
        rrn=rrn_of("C001"),
        random_num=issued.random_num,
    )
    center.other_joint.register(_customer_id(center), attempt)
    assert (
        _refused(lambda: center.other_joint.register(_customer_id(center), attempt))
        == "CHALLENGE_INVALID"
    )


def test_openssl_verifies_the_simulated_institutions_certificate(
    clock: FrozenClock, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other_ca = OtherCa(shutil.copytree(_template(tmp_path_factory, clock), tmp_path / "ca"))
    issued = _issue(other_ca, clock)
    pem = {
        "root.pem": other_ca.root,
        "ca.pem": other_ca.ca,
        "leaf.pem": issued.certificate,
    }
    for name, certificate in pem.items():
        (tmp_path / name).write_bytes(certificate.public_bytes(Encoding.PEM))
    (tmp_path / "ca.crl.pem").write_bytes(
        x509.load_der_x509_crl(other_ca.crl_path.read_bytes()).public_bytes(Encoding.PEM)
    )
    at = str(int(clock.now().timestamp()))
    done = subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            "-attime",
            at,
            "-crl_check",
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-untrusted",
            str(tmp_path / "ca.pem"),
            "-CRLfile",
            str(tmp_path / "ca.crl.pem"),
            str(tmp_path / "leaf.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(": OK")
