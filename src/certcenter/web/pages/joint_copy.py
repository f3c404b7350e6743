"""``/joint/copy``: 인증서 복사 of the joint certificate (공동인증서) between this browser and
another device (the app, or another browser) through the center's relay
(docs/certificate-copy.md).

    GET  /joint/copy     two parts: "이 브라우저로 가져오기" (receive: a one-time X25519 key,
                         the relay opened, the 16-digit code shown, the sealed folder fetched
                         and opened, saved as a .pfx under a password the customer chooses)
                         and "다른 기기로 보내기" (send: a .pfx opened, the code typed, the
                         receiver's key checked against its fingerprint digits, the folder
                         sealed and uploaded once)

Nothing of the copy passes through this module: ``static/js/joint-copy.js`` speaks to the
relay's API (``/v1/certificate-copies``) itself and does the cryptography in the browser
(``joint-copy-crypto.js``: X25519, scrypt, HKDF, AES-GCM as :mod:`certcenter.npki.copy`; the
key file ``signPri.key`` read and written with SEED as :mod:`certcenter.npki.keyfile`). The
center holds only the sealed payload; the file, its passwords and the private keys stay in
the browser. Refusals are worded by ``POST /joint/manage/explain``
(:mod:`certcenter.web.pages.joint_manage`).
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from certcenter.npki.password import MAX_LENGTH, MIN_LENGTH
from certcenter.web.context import center_of, locale_of
from certcenter.web.pages.joint_issue import _local_words
from certcenter.web.rendering import render
from certcenter.web.routing import page_router

router = page_router(prefix="/joint")


@router.get("/copy")
def copy_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "joint/copy.html",
        {
            "step_labels": [],
            "step_index": 0,
            "words": _local_words(locale_of(request)),
            "min_length": MIN_LENGTH,
            "max_length": MAX_LENGTH,
            "seconds": center_of(request).settings.policy.certificate_copy_ttl_seconds,
        },
    )
