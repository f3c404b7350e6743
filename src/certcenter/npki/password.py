"""The joint certificate's password rule (공동인증서 비밀번호): 10 or more characters mixing
letters, digits and symbols, as every Korean certificate program asks for.

    check_new_password("kb-Joint#2026", "kb-Joint#2026")
    check_new_password("password12", "password12")
    # CertCenterError NPKI_PASSWORD_TOO_WEAK, reason: term("npki.password.no_symbol")

The password protects the private key file (``signPri.key``) and the PKCS#12 file; the center
never keeps it. A password is refused, with the reason as a word in both languages, when it
is shorter than :data:`MIN_LENGTH` or longer than :data:`MAX_LENGTH`, when it lacks a
letter (A-Z, a-z), a digit or a symbol (printable ASCII that is neither), or when it holds
anything else: a space, a control character, a Korean or other non-ASCII letter. The
programs that read NPKI files take the password as ASCII bytes from a keyboard-security
input, so a character outside printable ASCII could not be typed there again.
Three or more of the same character in a row (``aaa``) are refused too.
"""

from __future__ import annotations

import hmac
import re

from certcenter.errors import CertCenterError, term

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_new_password", "password_bytes", "weak_reason"]

MIN_LENGTH = 10
MAX_LENGTH = 56
_ALLOWED = re.compile(r"[\x21-\x7e]+")
_REPEAT = re.compile(r"(.)\1\1")


def weak_reason(password: str) -> str | None:
    """The texts.toml key saying why ``password`` breaks the rule, or None if it keeps it."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return "npki.password.too_short"
    if len(password) > MAX_LENGTH:
        return "npki.password.too_long"
    if not _ALLOWED.fullmatch(password):
        return "npki.password.bad_character"
    if not any(c.isascii() and c.isalpha() for c in password):
        return "npki.password.no_letter"
    if not any(c.isdigit() for c in password):
        return "npki.password.no_digit"
    if all(c.isalnum() for c in password):
        return "npki.password.no_symbol"
    if _REPEAT.search(password):
        return "npki.password.repeated"
    return None


def check_new_password(password: str, confirmation: str | None = None) -> None:
    """Refuse a new certificate password: ``NPKI_PASSWORD_TOO_WEAK`` (with the reason) if it
    breaks the rule, ``NPKI_PASSWORD_CONFIRMATION_MISMATCH`` if a confirmation is given and
    differs. The password itself is never put into the error."""
    reason = weak_reason(password)
    if reason is not None:
        raise CertCenterError("NPKI_PASSWORD_TOO_WEAK", reason=term(reason))
    if confirmation is not None and not (
        isinstance(confirmation, str)
        and hmac.compare_digest(password.encode(), confirmation.encode("utf-8", "surrogatepass"))
    ):
        raise CertCenterError("NPKI_PASSWORD_CONFIRMATION_MISMATCH")


def password_bytes(password: str | bytes) -> bytes:
    """The bytes a password is keyed with: as given, or the UTF-8 of a str (ASCII for every
    password the rule allows, as the NPKI programs key it)."""
    if isinstance(password, bytes):
        return password
    if not isinstance(password, str):
        raise TypeError("a password is a str or bytes")
    return password.encode("utf-8", "surrogatepass")
