"""/joint/copy (인증서 복사 in the browser) as the in-process app serves it: both parts in
Korean and English, the fields without names (the file, the passwords and the code never go
to the page's server: the script speaks to the relay's API with the sealed folder only), the
scripts that do the work, and the links to it from the other joint pages."""

from __future__ import annotations

import re

from tests.web.conftest import web, web_app, web_center  # noqa: F401 - fixtures
from tests.web.support import WebClient, html_lang, main_text


def test_the_copy_page_in_both_languages(web: WebClient) -> None:  # noqa: F811
    page = web.get("/joint/copy")
    assert page.status_code == 200 and html_lang(page.text) == "ko"
    text = main_text(page.text)
    assert "이 브라우저로 가져오기" in text and "다른 기기로 보내기" in text
    assert "300초" in text  # the relay's time, from the policy
    for field in ("joint-file", "joint-password", "copy-send-code", "copy-password",
                  "copy-new-password", "copy-new-password-again"):  # fmt: skip
        assert f'id="{field}"' in page.text
    assert not re.search(r"<input[^>]+name=", page.text)
    assert "<form" not in page.text.replace('<form class="fin-form" id="copy-', "")
    for script in ("joint-der.js", "joint-pfx.js", "joint-copy-crypto.js", "joint-copy.js"):
        assert f"/static/js/{script}" in page.text

    web.cookies.set("lang", "en")
    english = web.get("/joint/copy")
    assert html_lang(english.text) == "en"
    assert "Bring it into this browser" in main_text(english.text)
    assert "Send it to another device" in main_text(english.text)


def test_the_joint_pages_link_to_the_copy(web: WebClient) -> None:  # noqa: F811
    for path in ("/joint/renew", "/joint/revoke", "/joint"):
        assert 'href="/joint/copy"' in web.get(path).text, path
