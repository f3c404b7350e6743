"""Redaction rules, the canonical form, and the import direction of the new packages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certcenter.audit import canonical_json, entry_hash, redact_details, redact_text
from certcenter.audit.redaction import mask_email, mask_name, mask_phone
from certcenter.entities import AuditEntry


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9003151512541", "******-*******"),
        ("900315-1512541", "******-*******"),
        ("주민번호:900315-1512541입니다", "주민번호:******-*******입니다"),
        ("01020000001", "010-****-0001"),
        ("010-2000-0001", "010-****-0001"),
        ("010 2000 0001", "010-****-0001"),
        ("010.2000.0001", "010-****-0001"),
        ("+82 10-2000-0001", "010-****-0001"),
        ("+821020000001", "010-****-0001"),
        ("0162000001", "016-****-0001"),
        ("kim.minjun+cert@example.co.kr", "k***@example.co.kr"),
        ("mail: c001@customers.example.org.", "mail: c***@customers.example.org."),
    ],
)
def test_personal_data_in_text_is_masked(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "5F3A9C0D1B2E4F60718293A4B5C6D7E8F9012345",  # a certificate serial (hex)
        "1732330800000",  # epoch milliseconds: month 32 is no birth date
        "123401000000011",  # an account-like number of 15 digits
        "2f1c0d3e-0101-4a2b-9c8d-010120000001",  # a UUID
        "sha256:" + "0" * 64,
        "PHONE_NOT_OWN_NAME",
        "1588-9999",
        "2026-11-23T01:00:00.000000Z",
    ],
)
def test_other_values_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_keys_decide_for_secrets_and_personal_fields() -> None:
    cleaned = redact_details(
        {
            "pin": "591734",
            "newPin": 591734,
            "smsCode": "483920",
            "verification-code": ["4", "8"],
            "password": {"nested": "x"},
            "rrn_front": "9003151",
            "ci": "Yh3...==",
            "biometric_token": "abc",
            "birth_date": date(1990, 3, 15),
            "pin_set": True,
            "code_sent_at": None,
            "error_code": "PHONE_NOT_OWN_NAME",
            "bank_code": "004",
            "mobile": "01020000001",
            "phone": "+1 555 0100",
            "email": "someone@example.org",
            "name": "김민준",
            "holder_name": "이준",
            "account_number": "12340100000001",
            "device": "SM-S928N",
            "serial": "5F3A",
        }
    )
    assert cleaned == {
        "pin": "[redacted]",
        "newPin": "[redacted]",
        "smsCode": "[redacted]",
        "verification-code": "[redacted]",
        "password": "[redacted]",
        "rrn_front": "[redacted]",
        "ci": "[redacted]",
        "biometric_token": "[redacted]",
        "birth_date": "[redacted]",
        "pin_set": True,
        "code_sent_at": None,
        "error_code": "PHONE_NOT_OWN_NAME",
        "bank_code": "004",
        "mobile": "010-****-0001",
        "phone": "*******0100",
        "email": "s***@example.org",
        "name": "김*준",
        "holder_name": "이*",
        "account_number": "**********0001",
        "device": "SM-S928N",
        "serial": "5F3A",
    }


def test_values_are_made_json_safe() -> None:
    at = datetime(2026, 11, 23, 10, 0, 0, 123, tzinfo=UTC)
    cleaned = redact_details(
        {"at": at, "day": date(2026, 11, 23), "items": (1, "a"), "n": 2**70, "ok": False}
    )
    assert cleaned == {
        "at": "2026-11-23T10:00:00.000123Z",
        "day": "2026-11-23",
        "items": [1, "a"],
        "n": 2**70,
        "ok": False,
    }
    for bad in ({"f": 1.5}, {"b": b"x"}, {"s": {1, 2}}, {"o": object()}):
        with pytest.raises(TypeError):
            redact_details(bad)
    with pytest.raises(ValueError, match="naive"):
        redact_details({"at": datetime(2026, 1, 1)})  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="NUL"):
        redact_details({"s": "a\x00b"})
    with pytest.raises(TypeError):  # a float under a secret key is still a caller bug
        redact_details({"pin": 1.5})
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(20):
        cursor["d"] = {}
        cursor = cursor["d"]  # type: ignore[assignment]
    with pytest.raises(ValueError, match="nested"):
        redact_details(deep)


def test_masks() -> None:
    assert mask_phone("01020000001") == "010-****-0001"
    assert mask_email("not-an-address") == "[redacted]"
    assert mask_name("Kim Minjun") == "K********n"
    assert mask_name("김") == "*"


@given(st.text(alphabet="0123456789-+ .@abcxyz가", max_size=60))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
_KEYS = st.sampled_from(["pin", "phone", "email", "name", "account", "note", "n"]) | _TEXT
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | _TEXT
    | st.sampled_from(["01020000001", "a@b.co", "9003151512541", "김민준"])
)


@given(
    st.dictionaries(
        _KEYS,
        st.recursive(
            _LEAVES,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
            max_leaves=10,
        ),
        max_size=5,
    )
)
def test_canonical_form_does_not_depend_on_key_order(details: dict[str, object]) -> None:
    cleaned = redact_details(details)
    reordered = dict(reversed(list(cleaned.items())))
    assert canonical_json(cleaned) == canonical_json(reordered)
    assert redact_details(cleaned) == cleaned  # redacting redacted details changes nothing


def test_the_hash_covers_every_field() -> None:
    entry = AuditEntry(
        seq=1,
        at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
        actor_kind="operator",
        actor="op-kim",
        action="certificate.revoke",
        subject_kind="certificate",
        subject="5F3A",
        outcome="ok",
        prev_hash="0" * 64,
        entry_hash="",
        source_ip="10.0.0.1",
        details={"reason": "keyCompromise"},
    )
    base = entry_hash(entry)
    assert base == entry_hash(entry)  # deterministic
    changes = {
        "seq": 2,
        "at": datetime(2026, 11, 23, 1, 0, 0, 1, tzinfo=UTC),
        "actor_kind": "system",
        "actor": "op-lee",
        "action": "certificate.suspend",
        "subject_kind": "device",
        "subject": "5F3B",
        "outcome": "refused",
        "prev_hash": "1" * 64,
        "source_ip": None,
        "details": {"reason": "superseded"},
    }
    for name, value in changes.items():
        original = getattr(entry, name)
        setattr(entry, name, value)
        assert entry_hash(entry) != base, name
        setattr(entry, name, original)
    assert entry_hash(entry) == base
