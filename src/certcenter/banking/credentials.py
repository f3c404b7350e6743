"""The rules for an internet-banking user ID (사용자 ID) and password (인터넷뱅킹 비밀번호).

    check_user_id("jihun95")                                  # "jihun95"
    check_new_password("Passw0rd!x", "Passw0rd!x", user_id="jihun95", birth_date=born)
    mask_user_id("c001user")                                  # "c00****r"

A user ID: 6 to 20 characters, lower-case letters and digits, starting with a letter (stored
lower case). A password: ``policy.banking_password_min_length`` (8) to 20 printable ASCII
characters mixing letters, digits and symbols, without the user ID, the birth date (YYMMDD) or
four equal or consecutive characters in a row. Refusals: ``USER_ID_FORMAT``,
``PASSWORD_RULES`` (with the rule broken), ``PASSWORD_CONFIRMATION_MISMATCH``.
"""

from __future__ import annotations

import hmac
import re
import string
from datetime import date

from certcenter.errors import CertCenterError
from certcenter.errors.catalog import term

__all__ = ["MAX_PASSWORD", "check_new_password", "check_user_id", "mask_user_id"]

MAX_PASSWORD = 20
_USER_ID = re.compile(r"[a-z][a-z0-9]{5,19}")
_SYMBOLS = frozenset(string.punctuation)


def check_user_id(user_id: str) -> str:
    """The user ID as it will be stored (trimmed, lower case); ``USER_ID_FORMAT`` otherwise."""
    text = str(user_id or "").strip().lower()
    if not _USER_ID.fullmatch(text):
        raise CertCenterError("USER_ID_FORMAT")
    return text


def _runs(password: str) -> bool:
    """Four equal or consecutive characters in a row (aaaa, 1234, dcba)."""
    for i in range(len(password) - 3):
        steps = {ord(password[j + 1]) - ord(password[j]) for j in range(i, i + 3)}
        if len(steps) == 1 and steps.pop() in (-1, 0, 1):
            return True
    return False


def _broken(rule: str, min_length: int) -> CertCenterError:
    return CertCenterError(
        "PASSWORD_RULES", rule=term(f"password_rule.{rule}"), min=min_length, max=MAX_PASSWORD
    )


def check_new_password(
    password: str,
    confirmation: str,
    *,
    user_id: str,
    birth_date: date | None,
    min_length: int = 8,
) -> None:
    """Refuse a new password that breaks a rule, or whose second entry differs."""
    if not isinstance(password, str) or not min_length <= len(password) <= MAX_PASSWORD:
        raise _broken("length", min_length)
    if any(ch not in string.printable or ch in string.whitespace for ch in password):
        raise _broken("characters", min_length)
    kinds = (
        any(ch in string.ascii_letters for ch in password),
        any(ch in string.digits for ch in password),
        any(ch in _SYMBOLS for ch in password),
    )
    if not all(kinds):
        raise _broken("mix", min_length)
    lowered = password.lower()
    if user_id and user_id.lower() in lowered:
        raise _broken("user_id", min_length)
    if birth_date is not None and birth_date.strftime("%y%m%d") in password:
        raise _broken("birth", min_length)
    if _runs(lowered):
        raise _broken("run", min_length)
    if not isinstance(confirmation, str) or not hmac.compare_digest(
        password.encode("utf-8"), confirmation.encode("utf-8", "surrogatepass")
    ):
        raise CertCenterError("PASSWORD_CONFIRMATION_MISMATCH")


def mask_user_id(user_id: str) -> str:
    """A user ID shown partly: the first three characters and the last, ``*`` between
    (``c001user`` → ``c00****r``); a short one keeps only its first character."""
    text = str(user_id)
    if len(text) <= 4:
        return text[:1] + "*" * (len(text) - 1)
    return text[:3] + "*" * (len(text) - 4) + text[-1]
