"""A signed document has one line per field: free text (the memo, a document's name) with a
control character is refused, and what is allowed stays on its own line, escaped."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.errors import CertCenterError
from certcenter.usage.documents import SignRequest
from certcenter.usage.free_text import escape, quote, unescape, unquote
from certcenter.usage.transfers import DOCUMENT_FIELDS, TransferRequest, parse_document
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import C001_ACCOUNT, OPENED, PAYEE, PIN, issued, logged_in, prepare

ATTACK_MEMO = ".\namount-krw: 1"
EDGE_OR_DOMAIN = ("INVALID_REQUEST", "TEXT_CONTROL_CHARACTER")
# every special character a memo may hold, within the API's 20 characters
SPECIAL_MEMO = "점심 \"A\" 'b' \\ c: {}"


@pytest.fixture(autouse=True)
def _close_app_clients() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()


def _refused(work: Any) -> ApiError:
    try:
        work()
    except ApiError as err:
        return err
    raise AssertionError("expected a refusal")


def _confirm(client: CenterClient, flow: Flow, prepared: dict[str, Any]) -> Any:
    body = {"signature": flow.keystore.sign(base64.b64decode(prepared["document_b64"])), "pin": PIN}
    return client.call("POST", f"/v1/transfers/{prepared['id']}/confirm", body)


def _openssl_verified(center: Center, client: CenterClient, url: str, tmp_path: Path) -> bytes:
    evidence = client.http.get(url, headers={"Authorization": f"Bearer {client.token}"})
    assert evidence.status_code == 200
    (tmp_path / "t.p7m").write_bytes(evidence.content)
    (tmp_path / "root.pem").write_text(center.chain_pem()[-1])
    verified = subprocess.run(
        [
            "openssl", "cms", "-verify", "-inform", "DER",
            "-in", str(tmp_path / "t.p7m"), "-CAfile", str(tmp_path / "root.pem"),
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    return verified.stdout


def test_the_memo_with_a_line_break_and_a_fake_amount_is_refused(
    new_flow: FlowFactory, center: Center
) -> None:
    client = logged_in(issued(new_flow))
    session = center.sessions.resolve(client.token or "")
    for memo in (ATTACK_MEMO, "a\x00b", "a\rb", "a\tb", "a\u2028b", "a\u202eb", "a\x85b", "a\x7fb"):
        # over HTTP: refused at the edge (INVALID_REQUEST) or by the transfer itself
        with pytest.raises(ApiError) as refused:
            prepare(client, 10_000, memo=memo)
        assert refused.value.code in EDGE_OR_DOMAIN, refused.value.problem
        assert_refusal(refused.value, refused.value.code)
        # the transfer itself refuses it too, whatever the edge lets through
        with pytest.raises(CertCenterError) as domain:
            center.transfers.prepare(
                session,
                TransferRequest(*C001_ACCOUNT, *PAYEE, amount=10_000, memo=memo),
            )
        assert domain.value.code == "TEXT_CONTROL_CHARACTER"
        assert domain.value.context["field"] == "memo"
    with center.uow_factory() as uow:
        assert list(uow.transfers.for_customer(session.customer_id)) == []


def test_a_memo_with_every_allowed_special_character_round_trips_into_one_amount_line(
    new_flow: FlowFactory, center: Center, tmp_path: Path
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    prepared = prepare(client, 12_345, source=C001_ACCOUNT, memo=SPECIAL_MEMO)
    document = base64.b64decode(prepared["document_b64"])
    assert prepared["document"].encode() == document
    assert prepared["memo"] == SPECIAL_MEMO
    lines = document.decode().splitlines()
    assert lines[0] == "certcenter 이체 확인 / transfer confirmation v2"
    assert [line.partition(": ")[0] for line in lines[1:]] == list(DOCUMENT_FIELDS)
    assert 'memo: "점심 \\"A\\" \'b\' \\\\ c: {}"' in lines
    assert parse_document(document)["memo"] == SPECIAL_MEMO
    done = _confirm(client, flow, prepared)
    assert done["status"] == "completed"
    shown = _openssl_verified(center, client, done["evidence_url"], tmp_path)
    assert shown == document  # what the device showed and signed, byte for byte
    amount_lines = [line for line in shown.decode().splitlines() if line.startswith("amount-krw")]
    assert amount_lines == ["amount-krw: 12345"]
    with center.uow_factory() as uow:
        stored = uow.transfers.get(done["id"])
        assert stored is not None and stored.document == document


def test_a_document_name_with_a_control_character_is_refused(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    content = "계약서\n".encode()
    for name in ("a\nb.txt", "a\x00b.txt", "a\u202ecod.exe"):
        body = {
            "name": name,
            "document_b64": base64.b64encode(content).decode(),
            "signature": flow.keystore.sign(content),
            "pin": PIN,
        }
        with pytest.raises(ApiError) as refused:
            client.call("POST", "/v1/documents/sign", body)
        assert refused.value.code in EDGE_OR_DOMAIN, refused.value.problem
        with pytest.raises(CertCenterError) as domain:
            center.documents.sign(
                center.sessions.resolve(client.token or ""),
                SignRequest(name, content, flow.keystore.sign(content), PIN),
            )
        assert domain.value.code == "TEXT_CONTROL_CHARACTER"


@pytest.mark.parametrize(
    "value", ["", "plain 이체", 'q"uote\\', ATTACK_MEMO, "\u2028\x00\x1b[2J", "\U0001f600 ok"]
)
def test_escaping_keeps_every_value_on_one_line_and_is_undone_exactly(value: str) -> None:
    for encoded in (escape(value), quote(value)):
        assert "\n" not in encoded and "\r" not in encoded and "\u2028" not in encoded
    assert unescape(escape(value)) == value
    assert unquote(quote(value)) == value
