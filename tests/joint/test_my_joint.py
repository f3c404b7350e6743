"""/my lists the customer's joint certificates in their own section, with the ways to renew
and revoke them from the certificate file (/joint/renew, /joint/revoke) and to copy it
(/joint/copy)."""

from __future__ import annotations

from fastapi import FastAPI

from certcenter.bootstrap import Center
from tests.joint.support import Registrant, enroll
from tests.web.signin import (  # noqa: F401 (fixtures)
    app_fixture,
    center_fixture,
    log_in_with_the_app,
)
from tests.web.support import WebClient, main_text


def test_my_page_lists_the_joint_certificate_with_its_links(
    db_center: Center, db_app: FastAPI
) -> None:
    with WebClient(db_app) as web:
        log_in_with_the_app(web, "C012")  # a mobile certificate on record
        before = web.get("/my").text
        assert 'id="joint"' in before and 'href="/joint/renew"' in before
        assert 'href="/joint/revoke"' in before and 'href="/joint/copy"' in before
        registered = Registrant(db_center, "C012", "banking").all_steps()
        enrolled, tid = enroll(db_center, registered, index=4)
        db_center.joint_authority.confirm(tid, accepted=True)
        serial = f"{enrolled.certificate.serial_number:X}"
        page = web.get("/my").text
        joint = page[page.index('id="joint"') :]
        assert f'data-serial="{serial}"' in joint
        mobile = page[page.index('id="mobile"') : page.index('id="joint"')]
        assert serial not in mobile  # not among the mobile certificates any more
        assert "공동인증서" in main_text(page)
