r"""Free text in what a customer signs (a transfer's memo and accounts, a document's name):
refused when it holds a control character, and escaped wherever it is written into a signed
document, so that no text can start a line or a field of its own.

    require_plain("memo", memo)    # TEXT_CONTROL_CHARACTER when the memo holds a line break
    quote('점심 "A" \ B')          # '"점심 \"A\" \\ B"' (one line, whatever the text)
    unquote(quote(value)) == value

Refused (and, should a check be missed, escaped as ``\uXXXX``): every control character
(C0, DEL, C1), line and paragraph separators, surrogates, and the bidirectional formatting
characters that would reorder what the screen shows.
"""

from __future__ import annotations

import unicodedata

from certcenter.errors import CertCenterError

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def unsafe(char: str) -> bool:
    """A character that may not appear in free text of a signed document."""
    return char in _BIDI or unicodedata.category(char) in _UNSAFE_CATEGORIES


def require_plain(field: str, value: str) -> str:
    """``value`` itself, or ``TEXT_CONTROL_CHARACTER`` naming ``field`` and the first
    offending character's code point."""
    for char in value:
        if unsafe(char):
            raise CertCenterError(
                "TEXT_CONTROL_CHARACTER", field=field, character=f"U+{ord(char):04X}"
            )
    return value


def escape(value: str) -> str:
    """One line whatever ``value`` holds: backslash and double quote are escaped with a
    backslash, every unsafe character as ``\\uXXXX`` (``\\UXXXXXXXX`` above the BMP)."""
    out: list[str] = []
    for char in value:
        if char in '\\"':
            out.append("\\" + char)
        elif unsafe(char):
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def quote(value: str) -> str:
    """``value`` escaped, in double quotes: where it starts and ends is visible."""
    return f'"{escape(value)}"'


def unescape(text: str) -> str:
    """The inverse of :func:`escape`; ``ValueError`` for text :func:`escape` cannot make."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"' or unsafe(char):
            raise ValueError("unescaped character")
        if char != "\\":
            out.append(char)
            i += 1
            continue
        kind = text[i + 1 : i + 2]
        if kind in ("\\", '"'):
            out.append(kind)
            i += 2
        elif kind in ("u", "U"):
            width = 4 if kind == "u" else 8
            digits = text[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdef" for c in digits):
                raise ValueError("bad escape")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        else:
            raise ValueError("bad escape")
    return "".join(out)


def unquote(text: str) -> str:
    """The inverse of :func:`quote`."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError("not quoted")
    return unescape(text[1:-1])
