"""The joint certificate's CMP server (공동인증서 발급 프로토콜): RFC 4210 with the lightweight
profile of RFC 9483, carried over HTTP (RFC 6712) by ``api/routes/cmp.py``.

    answer = center.cmp.handle(request_der)      # a DER PKIMessage back, never an exception
    center.cmp_timeout.reject_unconfirmed()      # the job runner: certConf that never came

The protocol lives here; what to issue, renew and revoke is the authority's
(:class:`~certcenter.cmp.authority.CmpAuthority`, implemented by the joint certificate's
registration). See docs/cmp.md.
"""

from __future__ import annotations

from certcenter.cmp.authority import CmpAuthority, Enrolled
from certcenter.cmp.failures import FAILURE_INFO, failure_info
from certcenter.cmp.responder import RESPONDER_LABEL, CmpResponderKey, Responder
from certcenter.cmp.server import CmpAnswer, CmpServer
from certcenter.cmp.transactions import (
    CmpTransactions,
    ConfirmationTimeout,
    IssuedCertificates,
    RecordedCertificates,
    TimeoutPass,
)

__all__ = [
    "FAILURE_INFO",
    "RESPONDER_LABEL",
    "CmpAnswer",
    "CmpAuthority",
    "CmpResponderKey",
    "CmpServer",
    "CmpTransactions",
    "ConfirmationTimeout",
    "Enrolled",
    "IssuedCertificates",
    "RecordedCertificates",
    "Responder",
    "TimeoutPass",
    "failure_info",
]
