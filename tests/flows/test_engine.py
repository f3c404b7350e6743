"""The step engine on its own: effects only after a commit, never for a refused step or a
commit that failed; races mapped to catalog codes; ids and tokens that cannot be a flow's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from certcenter.audit.redaction import mask_account
from certcenter.bootstrap import Center
from certcenter.cli.demo import scripted_answers
from certcenter.clock import KST, FrozenClock, today
from certcenter.enrollment.service import MOBILE_FLOW, EnrollmentRef, StartRequest
from certcenter.entities import Enrollment, EnrollmentState
from certcenter.errors import CertCenterError
from certcenter.financial.issuance import IssuanceRef
from certcenter.flows import (
    DepositOneWon,
    Effect,
    Effects,
    FlowEngine,
    Outcome,
    PublishCrl,
    SendSms,
)
from certcenter.ports import ConstraintViolationError, UnitOfWork
from certcenter.risk.rules import RiskRules

IP = "127.0.0.1"
SMS = SendSms("01020000001", "[은행] 인증번호 [123456]를 입력해 주세요.")


class SeenEffects(Effects):
    """Records what it is asked to perform and the flow's state in the database just then."""

    def __init__(self, center: Center) -> None:
        super().__init__(providers=center.providers, sms_sender="1588-9999")
        self.center = center
        self.performed: list[tuple[Effect, str | None]] = []
        self.flow_id = ""

    def perform(self, effects: Iterable[Effect]) -> None:
        with self.center.uow_factory() as uow:  # a fresh transaction sees only what committed
            row = uow.enrollments.get(self.flow_id)
            state = row.state if row is not None else None
        self.performed += [(effect, state) for effect in effects]


class Racing:
    """Unit-of-work factory whose next commit a constraint refuses (``name``), once."""

    def __init__(self, center: Center, name: str) -> None:
        self.inner = center.uow_factory
        self.name: str | None = name

    def __call__(self) -> RacingUow:
        return RacingUow(self)


class RacingUow:
    def __init__(self, factory: Racing) -> None:
        self.factory = factory
        self.inner: Any = factory.inner()

    def __enter__(self) -> RacingUow:
        self.uow = self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.uow, name)

    def commit(self) -> None:
        name, self.factory.name = self.factory.name, None
        if name is not None:
            raise ConstraintViolationError(name)
        self.uow.commit()


def engine(center: Center, effects: Effects, uow_factory: Any = None) -> FlowEngine[Any, Any]:
    return FlowEngine(
        MOBILE_FLOW,
        uow_factory=uow_factory or center.uow_factory,
        risk=RiskRules(center.settings.policy, center.clock),
        audit=center.audit_trail,
        clock=center.clock,
        effects=effects,
        ttl_minutes=center.settings.policy.enrollment_ttl_minutes,
    )


def started(center: Center, device: str = "engine-test-device") -> EnrollmentRef:
    begun = center.mobile_enrollment.start(
        StartRequest(
            device_id=device,
            platform="android",
            device_model="SM-S928N",
            app_version="5.2.0",
            client_ip=IP,
        )
    )
    return EnrollmentRef(begun.enrollment_id, begun.token, IP)


def accept(uow: UnitOfWork, enrollment: Enrollment) -> Outcome:
    enrollment.state = EnrollmentState.TERMS_ACCEPTED.value
    return Outcome({"accepted": True}, (SMS,))


def failures(center: Center, step: str) -> list[Any]:
    with center.engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT code, enrollment_id, device_id FROM failures WHERE step = :s"),
                {"s": step},
            )
        )


def audited(center: Center, action: str) -> list[Any]:
    with center.engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT actor, subject, outcome FROM audit_log WHERE action = :a"),
                {"a": action},
            )
        )


def test_effects_are_performed_after_the_step_committed(center: Center) -> None:
    ref = started(center)
    seen = SeenEffects(center)
    seen.flow_id = ref.enrollment_id
    result = engine(center, seen).step(ref, "terms", accept)
    assert result.detail == {"accepted": True}
    assert result.choices == ()
    assert seen.performed == [(SMS, "terms_accepted")]  # the state was already committed


def test_a_refused_step_performs_no_effect_and_records_the_refusal(center: Center) -> None:
    ref = started(center)
    seen = SeenEffects(center)

    def refuse(uow: UnitOfWork, enrollment: Enrollment) -> Outcome:
        accept(uow, enrollment)
        raise CertCenterError("TERMS_NOT_ACCEPTED", missing="service")

    with pytest.raises(CertCenterError) as refused:
        engine(center, seen).step(ref, "terms", refuse)
    assert refused.value.code == "TERMS_NOT_ACCEPTED"
    assert seen.performed == []
    with center.uow_factory() as uow:
        row = uow.enrollments.get(ref.enrollment_id)
        assert row is not None and row.state == EnrollmentState.STARTED.value
    assert failures(center, "terms") == [
        ("TERMS_NOT_ACCEPTED", ref.enrollment_id, "engine-test-device")
    ]
    assert audited(center, "enrollment.terms") == [
        ("device:engine-test-device", ref.enrollment_id, "refused:TERMS_NOT_ACCEPTED")
    ]


def test_a_step_out_of_order_runs_no_action(center: Center) -> None:
    ref = started(center)
    seen = SeenEffects(center)
    ran: list[str] = []

    def act(uow: UnitOfWork, enrollment: Enrollment) -> Outcome:
        ran.append(enrollment.id)
        return Outcome({}, (SMS,))

    with pytest.raises(CertCenterError) as refused:
        engine(center, seen).step(ref, "phone_verify", act)
    assert refused.value.code == "ENROLLMENT_STEP_OUT_OF_ORDER"
    assert (ran, seen.performed) == ([], [])


@pytest.mark.parametrize(
    ("constraint", "code"),
    [
        ("uq_devices_active_customer", "DEVICE_ALREADY_REGISTERED"),
        ("uq_certificates_usable", "CERTIFICATE_ALREADY_ACTIVE"),
    ],
)
def test_a_commit_a_constraint_refuses_performs_no_effect_and_names_the_race(
    center: Center, constraint: str, code: str
) -> None:
    ref = started(center)
    seen = SeenEffects(center)
    with pytest.raises(CertCenterError) as refused:
        engine(center, seen, Racing(center, constraint)).step(ref, "terms", accept)
    assert refused.value.code == code
    assert seen.performed == []
    with center.uow_factory() as uow:
        row = uow.enrollments.get(ref.enrollment_id)
        assert row is not None and row.state == EnrollmentState.STARTED.value
    assert failures(center, "terms") == [(code, ref.enrollment_id, "engine-test-device")]


def test_an_over_long_flow_id_is_not_found_in_either_flow(center: Center) -> None:
    long_id = "1" * 37
    mobile = started(center)
    with pytest.raises(CertCenterError) as refused:
        center.mobile_enrollment.accept_terms(
            EnrollmentRef(long_id, mobile.token, IP), center.settings.policy.required_terms
        )
    assert refused.value.code == "ENROLLMENT_NOT_FOUND"
    browser = center.financial_issuance.start(
        center.financial_issuance.required_terms, client_ip=IP
    )
    with pytest.raises(CertCenterError) as refused:
        center.financial_issuance.resend_code(IssuanceRef(long_id, browser.token, IP))
    assert refused.value.code == "ENROLLMENT_NOT_FOUND"
    # recorded without the id that cannot be one
    assert failures(center, "terms") == [("ENROLLMENT_NOT_FOUND", None, None)]
    assert failures(center, "financial.code_resend") == [("ENROLLMENT_NOT_FOUND", None, None)]
    assert audited(center, "enrollment.terms") == [
        ("device:-", "-", "refused:ENROLLMENT_NOT_FOUND")
    ]
    assert audited(center, "financial_issuance.code_resend") == [
        ("browser", "-", "refused:ENROLLMENT_NOT_FOUND")
    ]


@pytest.mark.parametrize("token", ["", "\ud800", "x" * 43])
def test_a_token_that_is_not_the_flows_is_refused_in_either_flow(
    center: Center, token: str
) -> None:
    mobile = started(center)
    with pytest.raises(CertCenterError) as refused:
        center.mobile_enrollment.status(EnrollmentRef(mobile.enrollment_id, token, IP))
    assert refused.value.code == "ENROLLMENT_TOKEN_INVALID"
    browser = center.financial_issuance.start(
        center.financial_issuance.required_terms, client_ip=IP
    )
    with pytest.raises(CertCenterError) as refused:
        center.financial_issuance.status(IssuanceRef(browser.enrollment_id, token, IP))
    assert refused.value.code == "ENROLLMENT_TOKEN_INVALID"


def test_an_expired_flow_is_marked_failed_in_either_flow(
    center: Center, clock: FrozenClock
) -> None:
    mobile = started(center)
    browser = center.financial_issuance.start(
        center.financial_issuance.required_terms, client_ip=IP
    )
    clock.advance(hours=2)
    with pytest.raises(CertCenterError) as refused:
        center.mobile_enrollment.accept_terms(mobile, center.settings.policy.required_terms)
    assert refused.value.code == "ENROLLMENT_EXPIRED"
    ref = IssuanceRef(browser.enrollment_id, browser.token, IP)
    with pytest.raises(CertCenterError) as refused:
        center.financial_issuance.resend_code(ref)
    assert refused.value.code == "ENROLLMENT_EXPIRED"
    with center.uow_factory() as uow:
        for row in (
            uow.enrollments.get(mobile.enrollment_id),
            uow.financial_enrollments.get(browser.enrollment_id),
        ):
            assert row is not None
            assert (row.state, row.failure_code) == ("failed", "ENROLLMENT_EXPIRED")


def test_the_outside_is_asked_with_no_row_locked_and_its_answer_reaches_the_step(
    center: Center,
) -> None:
    ref = started(center)
    seen = SeenEffects(center)
    flows = engine(center, seen)

    def question(enrollment: Enrollment, customer: object) -> str:
        assert customer is None  # no customer is known before the phone step
        with center.uow_factory() as uow:  # would wait for a lock the engine still held
            row = uow.enrollments.get(enrollment.id, for_update=True)
            assert row is not None
            row.client_ip = "10.0.0.1"
            uow.commit()
        return "answer"

    answer = flows.ask(ref, "terms", question)
    result = flows.step(ref, "terms", lambda uow, enrollment: {"answer": answer})
    assert result.detail == {"answer": "answer"}


def test_the_outside_is_asked_while_another_transaction_writes(
    center: Center, clock: FrozenClock
) -> None:
    ref = started(center)
    flows = engine(center, SeenEffects(center))
    with center.uow_factory() as writer:  # holds the write lock until the end of the block
        assert writer.session is not None
        writer.session.execute(text("UPDATE enrollments SET updated_at = updated_at"))
        # the check before the question is read-only: it does not wait for the writer
        assert flows.ask(ref, "terms", lambda enrollment, customer: enrollment.id) == (
            ref.enrollment_id
        )
        writer.commit()
    clock.advance(hours=2)
    with pytest.raises(CertCenterError) as refused:
        flows.ask(ref, "terms", lambda enrollment, customer: "not asked")
    assert refused.value.code == "ENROLLMENT_EXPIRED"
    with center.uow_factory(read_only=True) as uow:  # found expired by the question's check
        row = uow.enrollments.get(ref.enrollment_id)
        assert row is not None
        assert (row.state, row.failure_code) == ("failed", "ENROLLMENT_EXPIRED")


def test_the_outside_is_not_asked_for_a_step_out_of_order_and_its_refusal_is_recorded(
    center: Center,
) -> None:
    ref = started(center)
    flows = engine(center, SeenEffects(center))
    asked: list[str] = []
    with pytest.raises(CertCenterError) as refused:
        flows.ask(ref, "phone_verify", lambda enrollment, customer: asked.append("asked"))
    assert (refused.value.code, asked) == ("ENROLLMENT_STEP_OUT_OF_ORDER", [])

    def no(enrollment: Enrollment, customer: object) -> None:
        raise CertCenterError("PHONE_IDENTITY_MISMATCH")

    with pytest.raises(CertCenterError):
        flows.ask(ref, "terms", no)
    assert [code for code, *_ in failures(center, "terms")] == ["PHONE_IDENTITY_MISMATCH"]
    assert [code for code, *_ in failures(center, "phone_verify")] == [
        "ENROLLMENT_STEP_OUT_OF_ORDER"
    ]


def test_the_telco_answers_while_the_phone_step_holds_no_lock(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = started(center)
    center.mobile_enrollment.accept_terms(ref, center.settings.policy.required_terms)
    telco = center.providers.telco
    asked = telco.verify_subscriber

    def verify_subscriber(**kwargs: Any) -> Any:
        with center.uow_factory() as uow:  # would wait for the step's lock if it were held
            row = uow.enrollments.get(ref.enrollment_id, for_update=True)
            assert row is not None and row.state == "terms_accepted"
            uow.commit()
        return asked(**kwargs)

    monkeypatch.setattr(telco, "verify_subscriber", verify_subscriber)
    a = scripted_answers("C001")
    assert a.carrier and a.name and a.rrn_front and a.phone
    result = center.mobile_enrollment.request_phone_code(
        ref, carrier=a.carrier, name=a.name, rrn_front=a.rrn_front, phone=a.phone
    )
    assert result.state == "phone_code_sent"


# ---------------------------------------------------------------------- effects, texts, time


class Recorder:
    def __init__(self, *, publish_fails: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.publish_fails = publish_fails
        self.sms = self
        self.accounts = self

    def send(self, *, phone: str, sender: str, text: str) -> None:
        self.calls.append(("sms", phone, sender, text))

    def deposit_one_won(self, *, bank_code: str, account_number: str, depositor_text: str) -> None:
        self.calls.append(("deposit", bank_code, account_number, depositor_text))

    def publish(self, family: str, shard: int) -> None:
        self.calls.append(("publish", family, shard))
        if self.publish_fails:
            raise RuntimeError("CRL store down")


@pytest.mark.parametrize("publish_fails", [False, True])
def test_effects_publish_crls_once_each_then_the_rest_in_order(
    publish_fails: bool,
) -> None:
    fake = Recorder(publish_fails=publish_fails)
    effects = Effects(
        providers=fake,  # type: ignore[arg-type]
        sms_sender="1588-9999",
        publisher=fake,
    )
    effects.perform(
        [
            DepositOneWon("004", "12345678901", "인증123"),
            PublishCrl("mobile", 3),
            SMS,
            PublishCrl("mobile", 1),
            PublishCrl("mobile", 3),
        ]
    )
    assert fake.calls == [
        ("publish", "mobile", 1),
        ("publish", "mobile", 3),
        ("deposit", "004", "12345678901", "인증123"),
        ("sms", SMS.phone, "1588-9999", SMS.text),
    ]


def test_effects_keep_personal_data_out_of_their_repr() -> None:
    assert "0102" not in repr(SMS) and "123456" not in repr(SMS)
    assert "12345678901" not in repr(DepositOneWon("004", "12345678901", "인증123"))


def test_one_account_mask_one_korean_today() -> None:
    assert mask_account("12345678901") == "1234****901"
    late_evening_utc = FrozenClock(datetime(2026, 12, 31, 15, 0, tzinfo=UTC))
    assert today(late_evening_utc).isoformat() == "2027-01-01"
    assert KST.utcoffset(None).total_seconds() == 9 * 3600
