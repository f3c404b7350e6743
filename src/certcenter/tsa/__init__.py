"""The center's time-stamping authority (RFC 3161): its key and certificate (:mod:`.key`)
and the authority that answers queries and stamps the evidence (:mod:`.authority`).

    tsa = TimeStampAuthority(TsaKey(backend, settings, clock, issuer=..., chain=...),
                             settings, clock)
    tsa.respond(query_der)      # POST /tsa: application/timestamp-query → -reply
    tsa.token(signature_value)  # the evidence's id-aa-signatureTimeStampToken
"""

from certcenter.tsa.authority import (
    MAX_QUERY_BYTES,
    Rejection,
    TimeStampAuthority,
)
from certcenter.tsa.key import TSA_LABEL, TsaCertificate, TsaKey

__all__ = [
    "MAX_QUERY_BYTES",
    "TSA_LABEL",
    "Rejection",
    "TimeStampAuthority",
    "TsaCertificate",
    "TsaKey",
]
