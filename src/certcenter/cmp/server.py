"""The CMP server of the joint certificate (공동인증서): RFC 4210 with the lightweight profile
of RFC 9483, for the customer's software that holds a reference number (참조번호) and an
authorization code (인가코드). What it answers is described in :mod:`certcenter.cmp.exchange`.

    server = CmpServer(authority=center.joint_authority, transactions=..., ...)
    answer = server.handle(request_der)      # CmpAnswer: DER PKIMessage and its HTTP status

The CMP and CRMF ASN.1 modules (pyasn1-alt-modules) cost more than a second of CPU to load,
more than the rest of the center together. They are not loaded when the center is built: an
operator command or a CLI call does not pay for them. A server worker loads them in a
background thread once it has started (:meth:`CmpServer.load`), else the first message would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from certcenter.clock import Clock
from certcenter.cmp.authority import CmpAuthority
from certcenter.cmp.responder import CmpResponderKey
from certcenter.cmp.transactions import CmpTransactions, IssuedCertificates
from certcenter.config import Policy

if TYPE_CHECKING:
    from certcenter.cmp.exchange import Exchange

__all__ = ["CmpAnswer", "CmpServer"]


@dataclass(frozen=True)
class CmpAnswer:
    """A DER PKIMessage to send back, its HTTP status, and for logs what it refused."""

    der: bytes
    http_status: int = 200
    code: str | None = None  # the catalog code of an error message
    failure: str | None = None  # its PKIFailureInfo bit


class CmpServer:
    """Answers one PKIMessage at a time; safe to call from many threads and processes."""

    def __init__(
        self,
        *,
        authority: CmpAuthority | None,
        transactions: CmpTransactions,
        issued: IssuedCertificates,
        responder: CmpResponderKey,
        policy: Policy,
        clock: Clock,
    ) -> None:
        def make() -> Exchange:
            from certcenter.cmp.exchange import Exchange

            return Exchange(
                authority=authority,
                transactions=transactions,
                issued=issued,
                responder=responder,
                policy=policy,
                clock=clock,
            )

        self.responder = responder  # signs the answers that are not MAC-protected
        self._make = make
        self._exchange: Exchange | None = None
        self._loading = threading.Lock()

    def handle(self, data: bytes) -> CmpAnswer:
        """The answer to one DER PKIMessage: never an exception (refusals are CMP errors)."""
        return self._loaded().handle(data)

    def handle_fault(self, incident: str) -> CmpAnswer:
        """The answer to a request whose handling failed outside :meth:`handle`: a CMP
        error (systemFailure), status 200 like every PKIMessage (RFC 6712 §3.3)."""
        return self._loaded().handle_fault(incident)

    def load(self) -> None:
        """Load the message code now (a server worker does, in the background, once it has
        started: its first CMP message then does not wait for the import)."""
        self._loaded()

    def _loaded(self) -> Exchange:
        exchange = self._exchange
        if exchange is None:
            with self._loading:
                if self._exchange is None:
                    self._exchange = self._make()
                exchange = self._exchange
        return exchange
