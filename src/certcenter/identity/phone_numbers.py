"""Korean mobile numbers (휴대폰 번호) and mobile carriers (통신사), for phone verification.

    >>> normalise_mobile("+82 10-1234-5678")
    '01012345678'
    >>> Carrier.LGU_MVNO.label
    'LG U+ 알뜰폰'

:func:`normalise_mobile` accepts the ways people write a mobile number — ``010-1234-5678``,
``01012345678``, ``010 1234 5678``, ``010.1234.5678``, ``+82 10 1234 5678`` (also
``+82 010 …``), and the older ``011/016/017/018/019`` numbers of 10 or 11 digits — and
returns digits only. Anything else (landlines, other countries, letters, non-ASCII digits)
is refused with ``PHONE_NUMBER_INVALID``.
"""

from __future__ import annotations

import enum
import re

from certcenter.errors import CertCenterError

__all__ = ["MOBILE_PREFIXES", "Carrier", "normalise_mobile"]

MOBILE_PREFIXES = ("010", "011", "016", "017", "018", "019")

_SEPARATORS_RE = re.compile(r"[ \-.]")
_MOBILE_RE = re.compile(r"01[016789][0-9]{7,8}", re.ASCII)


def normalise_mobile(text: str) -> str:
    """The mobile number as digits (``"01012345678"``), or ``PHONE_NUMBER_INVALID``."""
    if not isinstance(text, str):
        raise CertCenterError("PHONE_NUMBER_INVALID")
    compact = _SEPARATORS_RE.sub("", text.strip())
    if compact.startswith("+82"):
        national = compact[3:]
        compact = national if national.startswith("0") else "0" + national
    if _MOBILE_RE.fullmatch(compact) is None:
        raise CertCenterError("PHONE_NUMBER_INVALID")
    return compact


class Carrier(enum.StrEnum):
    """The mobile network operator a line is with; the ``*_MVNO`` members are the budget
    operators (알뜰폰) renting that network, which phone verification treats separately."""

    SKT = "SKT"
    KT = "KT"
    LGU = "LGU"
    SKT_MVNO = "SKT_MVNO"
    KT_MVNO = "KT_MVNO"
    LGU_MVNO = "LGU_MVNO"

    @property
    def label(self) -> str:
        """The name shown to customers, as on the carrier choice screen."""
        return _LABELS[self]

    @property
    def mvno(self) -> bool:
        """True for a budget operator (알뜰폰)."""
        return self in (Carrier.SKT_MVNO, Carrier.KT_MVNO, Carrier.LGU_MVNO)

    @property
    def network(self) -> Carrier:
        """The operator whose network the line uses (itself, or the host of an 알뜰폰)."""
        return _NETWORK[self]


_LABELS: dict[Carrier, str] = {
    Carrier.SKT: "SKT",
    Carrier.KT: "KT",
    Carrier.LGU: "LG U+",
    Carrier.SKT_MVNO: "SKT 알뜰폰",
    Carrier.KT_MVNO: "KT 알뜰폰",
    Carrier.LGU_MVNO: "LG U+ 알뜰폰",
}

_NETWORK: dict[Carrier, Carrier] = {
    Carrier.SKT: Carrier.SKT,
    Carrier.KT: Carrier.KT,
    Carrier.LGU: Carrier.LGU,
    Carrier.SKT_MVNO: Carrier.SKT,
    Carrier.KT_MVNO: Carrier.KT,
    Carrier.LGU_MVNO: Carrier.LGU,
}
