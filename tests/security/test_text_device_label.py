"""A browser's label typed into a web form reaches the financial issuance untouched by the
edge's JSON rules: a control character in it is refused by the flow, never stored (on
PostgreSQL a NUL in a stored string was a server error)."""

from __future__ import annotations

import pytest

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.financial.issuance import IssuanceRef
from tests.conftest import LiveServer
from tests.financial_issuance.test_refusals import proven


@pytest.mark.parametrize("label", ["집\x00PC", "집\x1bPC", "집\u202ePC"])
def test_text_a_device_label_with_a_control_character_is_refused(
    api: LiveServer, center: Center, label: str
) -> None:
    browser = proven(api, "C001")
    browser.by_account()
    ref = IssuanceRef(browser.enrollment_id, str(browser.client.token), "127.0.0.1")
    with pytest.raises(CertCenterError) as refused:
        center.financial_issuance.submit_details(
            ref,
            name=browser.person.name,
            phone=browser.phone,
            birth_date=browser.person.rrn.birth_date.isoformat(),
            device_public_key=browser.spki,
            device_label=label,
        )
    assert refused.value.code == "INVALID_REQUEST"
    assert browser.status()["state"] == "medium_verified"
    assert browser.details(device_label="집 PC")["state"] == "code_sent"
