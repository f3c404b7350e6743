"""A transfer stopped at any point between claiming the day's headroom and recording the
bank's answer is settled from the bank's record: the money and the headroom agree.

The stop is the fault point raising a BaseException in the confirming thread (nothing after
it runs, as if the process had died there); tests/server/test_transfer_crash_process.py kills
the real server at the same points."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from click.testing import CliRunner

from certcenter.bootstrap import Center
from certcenter.cli.client import CenterClient
from certcenter.cli.main import cli
from certcenter.clock import FrozenClock
from certcenter.entities import Session, Transfer
from certcenter.errors import CertCenterError
from certcenter.usage import fault_points
from certcenter.usage.transfers import Confirmation, TransferRequest
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import C001_ACCOUNT, C001_SAVINGS, PAYEE, PIN, issued, logged_in


class Stopped(BaseException):
    """The process ended here (nothing after the point runs)."""


@pytest.fixture
def stop_at(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    points: list[str] = []

    def reached(point: str) -> None:
        if point in points:
            raise Stopped(point)

    monkeypatch.setattr(fault_points, "reached", reached)
    return points


def _session(center: Center, flow: Flow) -> tuple[CenterClient, Session]:
    client = logged_in(flow)
    assert client.token is not None
    return client, center.sessions.resolve(client.token)


def _send(
    center: Center, flow: Flow, session: Session, amount: int, source: tuple[str, str]
) -> Transfer:
    prepared = center.transfers.prepare(session, TransferRequest(*source, *PAYEE, amount=amount))
    confirmation = Confirmation(signature=flow.keystore.sign(prepared.document), pin=PIN)
    with contextlib.suppress(Stopped, CertCenterError):
        center.transfers.confirm(session, prepared.transfer.id, confirmation)
    return prepared.transfer


def _balance(center: Center, account: tuple[str, str]) -> int:
    row = center.sim_store.account(*account)
    assert row is not None
    return int(row["balance"])


def _state(center: Center, transfer: Transfer) -> tuple[str, str | None, int]:
    with center.uow_factory(read_only=True) as uow:
        stored = uow.transfers.get(transfer.id)
        assert stored is not None
        return (
            stored.status,
            stored.failure_code,
            uow.transfers.day_total(transfer.customer_id, transfer.day),
        )


POINTS = [
    ("transfer.claimed", C001_SAVINGS, 1_000_000, ("refused", "TRANSFER_NOT_EXECUTED")),
    ("transfer.bank_answered", C001_SAVINGS, 1_000_000, ("completed", None)),
    # 1,800,000 from an account holding 1,500,000: the bank refuses it
    ("transfer.bank_refused", C001_ACCOUNT, 1_800_000, ("refused", "INSUFFICIENT_FUNDS")),
]
BANK_SAYS = {
    "transfer.claimed": "unknown",
    "transfer.bank_answered": "completed",
    "transfer.bank_refused": "refused",
}


def test_a_transfer_stopped_at_each_point_is_settled_from_the_banks_record(
    new_flow: FlowFactory, center: Center, clock: FrozenClock, stop_at: list[str]
) -> None:
    flow = issued(new_flow)
    app, session = _session(center, flow)
    base = str(flow.client.http.base_url)
    operator = {"Authorization": f"Bearer {center.operators.create('desk', ['operator'])}"}
    auditor = {"Authorization": f"Bearer {center.operators.create('audit', ['auditor'])}"}
    sent = 0  # what really moved, over the points
    phone = flow.answers.phone or ""
    for point, source, amount, outcome in POINTS:
        before = _balance(center, source)
        stop_at[:] = [point]
        transfer = _send(center, flow, session, amount, source)
        status, _, claimed = _state(center, transfer)
        assert status == "processing" and claimed == sent + amount, point  # as a crash leaves it
        assert before - _balance(center, source) == (
            amount if BANK_SAYS[point] == "completed" else 0
        )

        # not yet past the policy's wait: the job leaves it (its answer may still come)
        assert center.jobs.run_once().transfers_completed == []
        assert _state(center, transfer)[0] == "processing"
        views = center.transfer_reconciliation.stuck()
        assert [v.transfer.id for v in views] == [transfer.id]
        assert views[0].bank is not None and views[0].bank.status == BANK_SAYS[point]
        listed = httpx.get(f"{base}/v1/operator/transfers/processing", headers=operator)
        assert [(t["id"], t["bank"]["status"]) for t in listed.json()] == [
            (transfer.id, BANK_SAYS[point])
        ]
        for refused, code in ((auditor, "OPERATOR_FORBIDDEN"), ({}, "OPERATOR_TOKEN_INVALID")):
            answer = httpx.post(f"{base}/v1/operator/transfers/reconcile", headers=refused)
            assert answer.json()["code"] == code

        clock.advance(seconds=center.settings.policy.transfer_reconcile_after_seconds + 1)
        report = center.jobs.run_once()
        status, code, total = _state(center, transfer)
        assert (status, code) == outcome, point
        assert report.transfers_completed == ([transfer.id] if status == "completed" else [])
        assert report.transfers_failed == ([transfer.id] if status == "refused" else [])
        # the money and the headroom agree: what moved is what counts against the day
        moved = before - _balance(center, source)
        assert moved == (amount if status == "completed" else 0), point
        sent += moved
        assert total == sent, point
        assert center.transfer_reconciliation.stuck() == []
        # the customer, whose answer never came, is told plainly what became of it: on the
        # phone, and in the transfer as the API shows it (the app's `app transfers`)
        newest = flow.messages(phone)[0]["body"]
        if status == "refused":
            assert "이체는 처리되지 않았습니다" in newest and f"{amount:,}원" in newest, newest
        else:
            assert f"{amount:,}원 이체 완료" in newest, newest
        shown = app.call("GET", f"/v1/transfers/{transfer.id}")
        if status == "refused":
            assert shown["notice"]["ko"].startswith("이체가 처리되지 않았습니다.")
            assert "다시" in shown["notice"]["ko"] and "{" not in shown["notice"]["ko"]
            assert shown["notice"]["en"].startswith("The transfer was not carried out.")
        else:
            assert shown["notice"] is None
        with center.uow_factory(read_only=True) as uow:
            stored = uow.transfers.get(transfer.id)
            assert stored is not None
            assert bool(stored.bank_reference) == (status == "completed")
        if point == "transfer.claimed":  # the reference was cancelled: a late arrival moves nothing
            with pytest.raises(CertCenterError) as late:
                center.providers.banking.transfer(
                    from_bank=source[0],
                    from_account=source[1],
                    to_bank=PAYEE[0],
                    to_account=PAYEE[1],
                    amount=amount,
                    sender_text="late",
                    payee_text="late",
                    reference=transfer.id,
                )
            assert late.value.code == "TRANSFER_NOT_EXECUTED"
            assert _balance(center, source) == before

    # the job settled the completed one; its late answer now changes nothing
    with center.uow_factory() as uow:
        completed = [t for t in uow.transfers.for_customer(session.customer_id) if t.bank_reference]
        assert len(completed) == 1 and completed[0].evidence
        again = center.transfers.finish(
            uow, completed[0].id, "004-LATE", actor=("customer", "C001")
        )
        uow.commit()
    assert again is not None and again.status == "completed"
    assert again.bank_reference != "004-LATE"
    settled = httpx.post(f"{base}/v1/operator/transfers/reconcile?all=true", headers=operator)
    assert settled.json() == {"completed": [], "failed": [], "errors": []}
    assert _state(center, completed[0])[2] == sent == 1_000_000

    # the app lists them: the one not carried out says so, in the customer's language
    runner, keystore = CliRunner(), str(flow.keystore.directory)
    logged = runner.invoke(
        cli, ["app", "login", "--keystore", keystore, "--url", base], input=f"{PIN}\n"
    )
    assert logged.exit_code == 0, logged.output
    listed = runner.invoke(cli, ["app", "transfers", "--keystore", keystore, "--url", base])
    assert listed.exit_code == 0, listed.output
    assert "처리되지 않음" in listed.output and "완료" in listed.output, listed.output
    assert "이체가 처리되지 않았습니다. 출금계좌 거래내역을 확인한 뒤" in listed.output
    english = runner.invoke(
        cli, ["--lang", "en", "app", "transfers", "--keystore", keystore, "--url", base]
    )
    assert "The transfer was not carried out. Check your account's statement" in english.output
