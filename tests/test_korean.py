"""Korean particles chosen by the word, and the one way texts are filled: every catalog and
texts.toml text names its particles after a value instead of writing 을(를), values with a
word in each language are shown in the text's own language, and notices are made from
texts.toml."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime

import pytest

from certcenter.errors import CertCenterError, catalog, term
from certcenter.errors.catalog import Term, fill, text, texts
from certcenter.errors.korean import (
    PARTICLES,
    both_forms,
    final_consonant,
    josa,
    particle_spec,
    with_josa,
)
from certcenter.financial import notices
from certcenter.notifications.messages import Event, compose, notice, render
from certcenter.usage.transfers import MEDIA, MEDIUM_NAMES

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        # Hangul with and without a final consonant
        ("인증서", "을/를", "를"),
        ("보안카드", "을/를", "를"),
        ("출금계좌", "이/가", "가"),
        ("계좌번호", "이/가", "가"),
        ("휴대폰", "이/가", "이"),
        ("비밀번호", "은/는", "는"),
        ("통신사", "은/는", "는"),
        ("은행", "은/는", "은"),
        ("앱", "을/를", "을"),
        ("키", "과/와", "와"),
        ("인증서", "과/와", "와"),
        ("계정", "과/와", "과"),
        ("값", "이/가", "이"),  # a double final consonant
        ("닭", "을/를", "을"),
        # (으)로: no final consonant or ㄹ takes 로, any other 으로
        ("서울", "으로/로", "로"),
        ("지하철", "으로/로", "로"),
        ("부산", "으로/로", "으로"),
        ("집", "으로/로", "으로"),
        ("학교", "으로/로", "로"),
        ("알뜰폰", "으로/로", "으로"),
        ("서울", "으로서", "로서"),
        ("칼", "으로써", "로써"),
        ("서울", "을/를", "을"),  # ㄹ is only special for (으)로
        # digits read as Korean numbers
        ("0", "을", "을"),  # 영
        ("1", "로", "로"),  # 일: ㄹ
        ("2", "을", "를"),  # 이
        ("3", "이", "이"),  # 삼
        ("4", "은", "는"),  # 사
        ("5", "과", "와"),  # 오
        ("6", "으로", "으로"),  # 육
        ("7", "으로", "로"),  # 칠: ㄹ
        ("8", "을", "을"),  # 팔
        ("9", "을", "를"),  # 구
        ("69", "을/를", "를"),
        ("47", "을/를", "을"),
        ("58", "을/를", "을"),
        ("10", "을/를", "을"),  # 십
        ("20", "이", "이"),  # 이십
        ("100", "이", "이"),  # 백
        ("1000", "으로", "으로"),  # 천
        ("10000", "은", "은"),  # 만
        ("1,000,000", "은", "은"),  # 백만
        ("100000000", "이", "이"),  # 억
        ("1000000000000", "이", "가"),  # 조
        ("1.5", "이", "가"),  # 일 점 오
        ("010", "으로", "으로"),  # 공일공, digit by digit
        ("1588-9999", "으로", "로"),
        ("1588-1000", "으로", "으로"),
        ("010-1234-5678", "으로", "로"),
        ("02-123-4560", "으로", "으로"),
        # Latin letters by their Korean names, simple words by their Korean spelling
        ("OTP", "을/를", "를"),
        ("URL", "을/를", "을"),
        ("PIN", "이/가", "이"),
        ("SKT", "으로/로", "로"),
        ("KT", "으로/로", "로"),
        ("ARS", "을", "를"),
        ("CA", "은", "는"),
        ("HSM", "이", "이"),
        ("a", "을", "를"),
        ("phone", "을", "을"),
        ("Google", "으로", "로"),
        ("app", "이", "이"),
        ("code", "를", "를"),
        ("iPhone", "으로", "으로"),
        ("Galaxy", "가", "가"),
        # mixed and decorated
        ("SM-S928N", "이/가", "이"),
        ("SM-G998", "이/가", "이"),  # 팔
        ("LG U+", "으로/로", "로"),  # 플러스
        ("SKT 알뜰폰", "으로/로", "으로"),
        ("모바일 OTP", "을", "를"),
        ("'업무용 PC'", "이", "가"),  # quotes are skipped
        ("인증서(모바일)", "을", "를"),  # the word before the parenthesis
        ("(모바일)", "을", "을"),  # nothing before it: the word inside
        ("KB국민인증서 ", "이", "가"),
        ("key-2", "을", "를"),
        ("v1.10", "이", "이"),  # the last digit after a point
        ("50%", "이", "가"),  # 퍼센트
    ],
)
def test_the_particle_follows_how_the_word_is_read(word: str, particle: str, expected: str) -> None:
    assert josa(word, particle) == expected
    assert with_josa(word, particle) == word + expected


@pytest.mark.parametrize("word", ["", "***", "010-****-****", "…", "中", "ㄱ", "-"])
def test_a_word_that_cannot_be_read_gets_both_forms(word: str) -> None:
    assert final_consonant(word) is None
    assert josa(word, "을") == "을(를)"
    assert josa(word, "이/가") == "이(가)"
    assert josa(word, "는") == "은(는)"
    assert josa(word, "와") == "과(와)"
    assert josa(word, "로") == "(으)로"


def test_every_form_of_a_pair_names_the_same_particle() -> None:
    for form, (with_consonant, with_vowel) in PARTICLES.items():
        assert form in (with_consonant, with_vowel)
        assert josa("집", form) == with_consonant and josa("학교", form) == with_vowel
    assert josa("집", "을(를)") == "을" and josa("학교", "(으)로") == "로"
    assert both_forms("이나") == "(이)나"
    with pytest.raises(ValueError, match="unknown Korean particle"):
        josa("집", "에게")


def test_a_format_spec_names_the_particle() -> None:
    assert particle_spec("을") == ("", "을")
    assert particle_spec("'이") == ("'", "이")
    assert particle_spec("") is None and particle_spec(",") is None and particle_spec(">5") is None
    with pytest.raises(ValueError, match="unknown Korean particle"):
        particle_spec("에서")


def test_fill_puts_the_particle_after_the_value_and_keeps_other_specs() -> None:
    assert fill("{keyed:을} 눌렀습니다.", "ko", {"keyed": "69"}) == "69를 눌렀습니다."
    assert fill("{keyed:을} 눌렀습니다.", "ko", {"keyed": 10}) == "10을 눌렀습니다."
    assert (
        fill("키 '{label:'이} 없습니다.", "ko", {"label": "ca-root"}) == "키 'ca-root'가 없습니다."
    )
    assert fill("{phone:으로} 보냅니다.", "ko", {"phone": "010-1234-5678"}) == (
        "010-1234-5678로 보냅니다."
    )
    assert fill("{amount:,}원", "ko", {"amount": 1234567}) == "1,234,567원"
    assert fill("{{literal}} {n}", "ko", {"n": 3}) == "{literal} 3"
    # a missing value stays visible, with both forms of its particle
    assert fill("{medium:이} 없습니다.", "ko", {}) == "{medium}이(가) 없습니다."
    assert fill("키 '{label:'을} 엽니다.", "ko", {}) == "키 '{label}'을(를) 엽니다."
    assert fill("{n} {x:,}", "en", {}) == "{n} {x:,}"


def test_a_term_is_shown_in_the_language_of_the_text() -> None:
    account = term("medium.account")
    assert isinstance(account, Term)
    assert fill("{m:이} 없습니다.", "ko", {"m": account}) == "출금계좌가 없습니다."
    assert fill("No {m}.", "en", {"m": account}) == "No withdrawal account."
    assert str(account) == "출금계좌 / withdrawal account"
    assert term("notice.financial_deleted.why", days=30).text("ko") == "30일 동안 사용하지 않아 "
    with pytest.raises(KeyError, match=r"no\.such"):
        term("no.such.word")


def test_medium_names_are_in_the_language_of_the_message() -> None:
    for medium in ("account", "security_card", "otp", "mobile_certificate", "certificate"):
        name = term(f"medium.{medium}")
        err = CertCenterError("MEDIUM_NOT_REGISTERED", medium=name)
        assert err.cause("ko") == with_josa(name.text("ko"), "이") + (
            " 등록되어 있지 않거나 사용할 수 없는 상태입니다."
        )
        assert err.cause("en") == f"No usable {name.text('en')} is registered for you."
        assert not re.search(r"[\uac00-\ud7a3]", err.cause("en"))
    assert (
        CertCenterError("MEDIUM_NOT_REGISTERED", medium=term("medium.account")).cause("ko")
        == "출금계좌가 등록되어 있지 않거나 사용할 수 없는 상태입니다."
    )
    assert set(MEDIUM_NAMES) == set(MEDIA)
    limit = CertCenterError("TRANSFER_LIMIT_EXCEEDED", medium=MEDIUM_NAMES["otp"], limit="5,000")
    assert limit.cause("ko") == "모바일 OTP 사용 시 1회 이체한도는 5,000원입니다."
    assert limit.cause("en") == "With the mobile OTP, one transfer may be at most 5,000 KRW."


def test_catalog_values_take_their_own_particles() -> None:
    assert CertCenterError("KEY_NOT_FOUND", label="ca-root").cause("ko") == (
        "키 'ca-root'가 키 저장소에 없습니다."
    )
    assert CertCenterError("KEY_NOT_FOUND", label="issuing-1").cause("ko") == (
        "키 'issuing-1'이 키 저장소에 없습니다."
    )
    assert CertCenterError("CUSTOMER_UNKNOWN", customer="C1001").cause("ko") == (
        "고객번호 C1001이 없습니다."
    )
    assert text("demo.calls.answered", "ko", keyed="69") == "ARS 전화에 69를 눌렀습니다."
    assert text("demo.calls.answered", "ko", keyed="47") == "ARS 전화에 47을 눌렀습니다."
    assert text("why.detail.carrier", "ko", carrier="LG U+") == (
        "휴대폰 본인인증에서 통신사를 'LG U+'로 선택하세요."
    )
    assert text("why.detail.carrier", "ko", carrier="SKT 알뜰폰") == (
        "휴대폰 본인인증에서 통신사를 'SKT 알뜰폰'으로 선택하세요."
    )


# ---------------------------------------------------------------- every text of the center

_DOUBLE = re.compile(
    r"\}['\"’”)\]]?\s*(?:을\(를\)|를\(을\)|이\(가\)|가\(이\)|은\(는\)|는\(은\)|과\(와\)|와\(과\)"
    r"|\(으\)로|\(이\)[가-힣])"
)
# a bare particle right after a value: it would be wrong for half the values
_BARE = re.compile(
    r"\{[a-z_]+\}['\"’”]?(?:으로서|로서|으로써|로써|으로|로|을|를|이|가|은|는|과|와|이나|나|이라"
    r"|라|이며|며|이랑|랑|아|야)(?![가-힣])"
)


def _every_text() -> list[tuple[str, str]]:
    shown = [
        (f"{code}.{field}.{locale}", item.text(field, locale))
        for code, item in catalog().items()
        for field in ("message", "cause", "remedy")
        for locale in ("ko", "en")
    ]
    shown += [
        (f"{key}.{locale}", value[locale]) for key, value in texts().items() for locale in value
    ]
    return shown


def test_no_text_writes_both_forms_of_a_particle_after_a_value() -> None:
    every = _every_text()
    assert len(every) > 500
    doubled = [(where, t) for where, t in every if _DOUBLE.search(t)]
    assert not doubled, doubled
    bare = [(where, t) for where, t in every if _BARE.search(t)]
    assert not bare, bare


def test_every_format_spec_in_the_texts_is_a_known_particle() -> None:
    for where, template in _every_text():
        for _, name, spec, _ in string.Formatter().parse(template):
            if name is not None and spec:
                assert particle_spec(spec) is not None, (where, spec)
                assert where.endswith(".ko"), (where, "particles are Korean")


# ---------------------------------------------------------------- notices from texts.toml


def test_every_notice_has_a_subject_and_a_text_in_both_languages() -> None:
    events = {key.split(".")[1] for key in texts() if key.startswith("notice.")}
    assert set(Event) <= events
    assert {"transfer", "financial_issued", "financial_deleted", "financial_pin_reset"} <= events
    for event in events:
        for part in ("subject", "text"):
            assert texts()[f"notice.{event}.{part}"]["ko"].strip()
            assert texts()[f"notice.{event}.{part}"]["en"].strip()


def test_the_report_number_takes_its_own_particle() -> None:
    def report(sender: str) -> str:
        return render(
            Event.REVOKED,
            values=None,
            bank_name="데모은행",
            sender_number=sender,
            inactivity_days=365,
            now=NOW,
        ).text_ko

    assert report("1588-9999").endswith("1588-9999로 신고해 주세요.")
    assert report("1588-1000").endswith("1588-1000으로 신고해 주세요.")
    assert report("02-3456-7890").endswith("02-3456-7890으로 신고해 주세요.")


def test_financial_notices_and_the_transfer_notice_come_from_the_texts() -> None:
    issued = notices.issued("데모은행", NOW, until=date(2029, 11, 23), device="업무용 PC")
    assert issued["text_ko"] == (
        "[데모은행] 금융인증서가 2026-11-23 10:00 발급되었습니다 (업무용 PC 기기 등록). "
        "유효기간은 2029-11-23까지입니다. 본인이 아니면 고객센터로 신고해 주세요."
    )
    assert issued["text_en"].startswith(
        "[데모은행] Your financial certificate was issued at 2026-11-23 10:00 KST "
        "(device 업무용 PC registered);"
    )
    assert issued["subject"] == "[데모은행] 금융인증서 발급 안내"
    assert issued["data"] == {"until": "2029-11-23"}
    plain = notices.issued("데모은행", NOW, until=date(2029, 11, 23), device=None)
    assert "발급되었습니다. 유효기간" in plain["text_ko"]
    deleted = notices.deleted("데모은행", NOW, days=None)
    assert deleted["text_ko"].startswith("[데모은행] 금융인증서가 2026-11-23 10:00 클라우드에서")
    assert deleted["data"] == {"days": "-"}
    sent = notice("transfer", payee="홍길동", amount="1,000", account="4005")
    assert sent == {
        "subject": "이체 완료 / Transfer sent",
        "text_ko": "[인증센터] 홍길동님께 1,000원 이체 완료 (4005 계좌). "
        "본인이 아니면 고객센터로 연락하세요.",
        "text_en": "[certcenter] 1,000 KRW sent to 홍길동 from account …4005. "
        "Not you? Call the customer centre.",
    }
    assert compose("transfer", {}).text_ko.startswith("[인증센터] {payee}님께")


def test_the_transfer_ars_prompt_comes_from_the_texts() -> None:
    assert text("ars.transfer", "ko", payee="홍길동", amount="1,000") == (
        "[인증센터] 홍길동님께 1,000원 이체를 요청하셨다면 화면에 표시된 번호를 누르세요."
    )


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("sms_code.mobile", "인증번호"),
        ("sms_code.financial_issue", "금융인증서 발급 인증번호"),
        ("sms_code.financial_device", "금융인증서 기기 등록 인증번호"),
        ("sms_code.financial_pin_reset", "금융인증서 비밀번호 재설정 인증번호"),
        ("sms_code.otp", "모바일 OTP 발급 인증번호"),
    ],
)
def test_the_code_messages_come_from_the_texts(key: str, words: str) -> None:
    assert text(key, "ko", bank="데모은행", code="123456", minutes=3) == (
        f"[데모은행] {words} [123456]를 입력해 주세요. (3분 이내, 타인에게 알려주지 마세요)"
    )
    assert "123456" in text(key, "en", bank="데모은행", code="123456", minutes=3)


# ---------------------------------------------------------------- values the center inserts


@pytest.mark.parametrize(
    ("medium", "korean"),
    [
        ("account", "출금계좌가 등록되어"),
        ("security_card", "보안카드가 등록되어"),
        ("otp", "모바일 OTP가 등록되어"),
        ("mobile_certificate", "KB국민인증서가 등록되어"),
    ],
)
def test_a_medium_inserted_into_a_refusal_takes_its_particle(medium: str, korean: str) -> None:
    refusal = CertCenterError("MEDIUM_NOT_REGISTERED", medium=term(f"medium.{medium}"))
    assert refusal.cause("ko").startswith(korean)
    assert not re.search(r"[\uac00-\ud7a3]", refusal.cause("en"))
    assert "/" not in refusal.cause("ko") and "(" not in refusal.cause("ko")


def test_words_in_a_row_are_each_in_the_texts_language() -> None:
    from certcenter.errors.catalog import words

    missing = words("terms", ["financial_certificate", "privacy_collection", "custom_term"])
    refusal = CertCenterError("TERMS_NOT_ACCEPTED", missing=missing)
    assert refusal.cause("ko").endswith(
        "금융인증서 이용약관, 개인정보 수집·이용 동의, custom_term"
    )  # a term the center has no words for (set in the policy) keeps its name
    assert "the collection and use of personal data" in refusal.cause("en")
    row = words("terms", ["service", "e_finance"])
    assert fill("{row:을} 확인하세요", "ko", {"row": row}) == (
        "서비스 이용약관, 전자금융거래 약관을 확인하세요"
    )
    assert fill("{keyed:을} 눌렀습니다", "ko", {"keyed": "69"}) == "69를 눌렀습니다"
