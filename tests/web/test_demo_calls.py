"""Answering a ringing ARS call on the demo phone's page: the key pad, refusals, the record."""

from __future__ import annotations

from fastapi import FastAPI

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.simulators.ars import SimulatedArs
from tests.web.support import WebClient, main_text

PHONE = "01020000002"
CALLS = f"/demo/calls/{PHONE}"
ANSWER = f"{CALLS}/answer"


def _ars(center: Center) -> SimulatedArs:
    return SimulatedArs(center.sim_store, center.clock)


def test_a_ringing_call_is_answered_with_the_keyed_digits(
    web: WebClient, web_center: Center
) -> None:
    assert "지금 울리는 전화가 없습니다." in main_text(web.get(CALLS).text)
    call = _ars(web_center).place_call(phone=PHONE, prompt="화면의 번호 2자리를 누르세요")
    page = web.get(CALLS).text
    assert "전화가 왔습니다" in page and "화면의 번호 2자리를 누르세요" in page
    assert f'action="{ANSWER}"' in page and 'inputmode="numeric"' in page
    done = web.post(ANSWER, data={"keyed": " 47 ", **web.csrf(CALLS)})
    assert done.status_code == 303 and done.headers["location"] == CALLS
    after = main_text(web.follow(done).text)
    assert "ARS 전화에 47을 눌렀습니다." in after  # the flash, once
    assert "응답함" in after and "지금 울리는 전화가 없습니다." in after
    assert _ars(web_center).outcome(call).status == "answered"
    assert _ars(web_center).outcome(call).keyed == "47"
    assert "ARS 전화에 47을" not in main_text(web.get(CALLS).text)


def test_declining_a_call(web: WebClient, web_center: Center) -> None:
    call = _ars(web_center).place_call(phone=PHONE, prompt="번호를 누르세요")
    web.get("/lang/en")
    done = web.post(ANSWER, data={"action": "decline", **web.csrf(CALLS)})
    words = main_text(web.follow(done).text)
    assert "You declined the ARS call." in words and "Declined" in words
    assert _ars(web_center).outcome(call).status == "declined"


def test_digits_only_and_the_call_keeps_ringing(web: WebClient, web_center: Center) -> None:
    call = _ars(web_center).place_call(phone=PHONE, prompt="번호를 누르세요")
    for keyed in ("", "12a", "12345678901", "１２"):
        page = web.post(ANSWER, data={"keyed": keyed, **web.csrf(CALLS)})
        assert page.status_code == 422, keyed
        words = main_text(page.text)
        assert "INVALID_REQUEST" in words and "숫자 1~10자리" in words
        assert "전화가 왔습니다" in words  # the key pad is still there
    assert _ars(web_center).outcome(call).status == "ringing"
    assert web.post(ANSWER, data={"keyed": "9" * 41, **web.csrf(CALLS)}).status_code == 422
    assert web.post(ANSWER, data={"action": "hang-up", **web.csrf(CALLS)}).status_code == 422
    _ars(web_center).answer(PHONE, None)


def test_no_ringing_call_is_its_own_refusal(web: WebClient) -> None:
    page = web.post(ANSWER, data={"keyed": "12", **web.csrf(CALLS)})
    assert page.status_code == 409
    assert CertCenterError("WEB_NO_RINGING_CALL").message("ko") in main_text(page.text)


def test_an_unknown_phone_has_no_calls(web: WebClient) -> None:
    page = web.post("/demo/calls/01099999999/answer", data={"keyed": "1", **web.csrf()})
    assert page.status_code == 404


def test_demo_pages_are_off_without_the_simulators(web_app: FastAPI) -> None:
    center: Center = web_app.state.center
    settings = center.settings.model_copy(update={"simulators_enabled": False})
    web_app.state.center = center.reconfigured(settings)
    try:
        with WebClient(web_app) as web:
            for path in ("/demo", CALLS):
                page = web.get(path)
                assert page.status_code == 404
                assert "SIMULATORS_DISABLED" in main_text(page.text)
            refused = web.post(ANSWER, data={"keyed": "1", **web.csrf()})
            assert "SIMULATORS_DISABLED" in main_text(refused.text)
            assert 'href="/demo"' not in web.get("/").text  # nor in the menu
    finally:
        web_app.state.center = center
