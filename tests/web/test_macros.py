"""The building blocks later pages are made of: steps, the error box, fields, the CSRF field."""

from __future__ import annotations

import re

from certcenter.errors import CertCenterError, Locale
from certcenter.web.rendering import ENVIRONMENT, translator
from certcenter.web.terms import to_accept


def _render(source: str, locale: Locale = "ko", **values: object) -> str:
    template = ENVIRONMENT.from_string('{% import "macros.html" as ui with context %}' + source)
    return template.render(
        t=translator(locale),
        locale=locale,
        csrf_token="tok-123",
        csrf_field_name="csrf_token",
        **values,
    )


def test_steps_mark_done_current_and_todo() -> None:
    html = _render("{{ ui.steps(['약관 동의', '휴대폰 인증', '비밀번호'], 1) }}")
    assert "전체 3단계 중 2단계" in html
    states = re.findall(r'class="step step-(\w+)"', html)
    assert states == ["done", "current", "todo"]
    assert html.count('aria-current="step"') == 1
    current = html[html.index("step-current") :]
    assert current.index("휴대폰 인증") < current.index("</li>")
    english = _render("{{ ui.steps(['Terms', 'Phone'], 0) }}", "en")
    assert "Step 1 of 2" in english


def test_error_box_shows_message_cause_remedy_and_code_in_the_pages_language() -> None:
    error = CertCenterError("CODE_INVALID", tries_left=2)
    html = _render("{{ ui.error_box(error) }}", "en", error=error)
    assert error.message("en") in html and error.cause("en") in html
    assert error.remedy("en") in html and "<code>CODE_INVALID</code>" in html
    assert 'role="alert"' in html and "Error code" in html
    korean = _render("{{ ui.error_box(error) }}", error=error)
    assert error.message("ko") in korean and "해결 방법" in korean


def test_field_and_csrf_field_escape_what_they_are_given() -> None:
    html = _render(
        "{{ ui.csrf_field() }}{{ ui.field('name', '이름', value=v, hint='힌트', maxlength=20) }}",
        v='"><script>x</script>',
    )
    assert '<input type="hidden" name="csrf_token" value="tok-123">' in html
    assert "<script>" not in html and "&#34;&gt;&lt;script&gt;" in html
    assert 'aria-describedby="field-name-hint"' in html and 'maxlength="20"' in html
    assert '<label for="field-name">이름</label>' in html


def test_details_form_asks_name_phone_and_birth_date_filled_in_as_typed() -> None:
    html = _render(
        "{{ ui.details_form('/banking/join', form) }}", form={"name": "김<b>", "phone": "010"}
    )
    assert '<form method="post" action="/banking/join"' in html
    assert '<input type="hidden" name="csrf_token" value="tok-123">' in html
    assert re.findall(r'<input id="field-(\w+)" name="\1"', html) == ["name", "phone", "birth"]
    assert 'value="김&lt;b&gt;"' in html and 'value="010"' in html
    assert html.count("<form") == 1 and "생년월일" in html


def test_accept_terms_gives_each_term_its_box_and_text_and_one_box_for_all() -> None:
    listed = to_accept(["privacy_collection", "no_such_term"], translator("ko"), "issue.terms")
    assert listed[1]["label"] == "no_such_term" and listed[1]["document"] is None
    html = _render(
        '{% import "help/terms_text.html" as terms_ui with context %}'
        "{{ terms_ui.accept_terms(terms) }}",
        terms=listed,
    )
    boxes = re.findall(r'name="accepted" value="(\w+)"', html)
    assert boxes == ["privacy_collection", "no_such_term"]
    assert html.count("data-check-all") == 1 and 'data-terms="privacy_collection"' in html
