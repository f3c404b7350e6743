"""/my lists the customer's joint certificates in their own section, with the ways to renew
and revoke them from the certificate file (/joint/renew, /joint/revoke) and to copy it
(/joint/copy), and to register a joint certificate of another institution (/joint/other,
타기관 인증서 등록: the form, a registration with what joint-login.js posts, a refusal shown
after Post/Redirect/Get, 해지)."""

from __future__ import annotations

import base64
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI

from certcenter.bootstrap import Center
from certcenter.config import OTHER_CA_DIR_NAME
from certcenter.errors.catalog import catalog
from certcenter.npki.pkcs12 import import_pfx
from certcenter.simulators.other_ca import DEMO_PFX_PASSWORD, OtherCa
from tests.joint.support import WORLD, Registrant, enroll, rrn_of
from tests.web.signin import (  # noqa: F401 (fixtures)
    app_fixture,
    center_fixture,
    log_in_with_the_app,
)
from tests.web.support import WebClient, csrf_token, main_text


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


def test_register_and_deregister_another_institutions_certificate(
    db_center: Center, db_app: FastAPI
) -> None:
    ca = OtherCa(db_center.settings.data_dir / OTHER_CA_DIR_NAME)  # made by initialise()
    now = db_center.clock.now()
    issued = ca.issue(
        WORLD.people["C012"].name,
        rrn_of("C012"),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365),
    )
    with WebClient(db_app) as web:
        assert web.get("/joint/other").status_code in (401, 303)  # logged-in customers only
        # /demo offers C001's certificate from the simulated institution, with its password
        assert 'href="/demo/other-certificate"' in web.get("/demo").text
        download = web.get("/demo/other-certificate")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/x-pkcs12"
        assert import_pfx(download.content, DEMO_PFX_PASSWORD).random_num
        log_in_with_the_app(web, "C012")
        assert 'href="/joint/other"' in web.get("/my").text
        page = web.get("/joint/other")
        assert page.status_code == 200
        assert 'data-joint-login="/joint/other/challenge"' in page.text
        assert 'name="random_num"' in page.text and 'name="rrn_back"' in page.text
        token = csrf_token(page.text)

        def post(rrn: str) -> str:
            answer = web.post("/joint/other/challenge", headers={"X-CSRF-Token": token})
            assert answer.status_code == 200
            sign = answer.json()["sign"].encode()
            signature = issued.key.sign(sign, padding.PKCS1v15(), hashes.SHA256())
            front, back = rrn.split("-")
            sent = web.post(
                "/joint/other",
                data={
                    "csrf_token": token,
                    "challenge": answer.json()["challenge"],
                    "signature": base64.b64encode(signature).decode(),
                    "certificate": base64.b64encode(
                        issued.certificate.public_bytes(Encoding.DER)
                    ).decode(),
                    "random_num": base64.b64encode(issued.random_num).decode(),
                    "rrn_front": front,
                    "rrn_back": back,
                },
            )
            assert sent.status_code == 303 and sent.headers["location"] == "/joint/other"
            return web.follow(sent).text

        refused = post(rrn_of("C001"))  # not C012's own number
        assert catalog()["JOINT_VID_MISMATCH"].message_ko in main_text(refused)
        done = post(rrn_of("C012"))
        serial = format(issued.certificate.serial_number, "X")
        assert serial in done and "타기관 인증서를 등록했습니다" in main_text(done)
        [registered] = db_center.other_joint.registered(_id(db_center))
        gone = web.post(
            "/joint/other/deregister",
            data={"csrf_token": csrf_token(done), "registration": registered.id},
        )
        assert gone.status_code == 303
        after = web.follow(gone).text
        assert serial not in after and "해지했습니다" in main_text(after)
        missing = web.follow(
            web.post(
                "/joint/other/deregister",
                data={"csrf_token": csrf_token(after), "registration": registered.id},
            )
        )
        assert catalog()["JOINT_OTHER_REGISTRATION_NOT_FOUND"].message_ko in main_text(missing.text)


def _id(center: Center) -> str:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C012")
        assert customer is not None
        return customer.id
