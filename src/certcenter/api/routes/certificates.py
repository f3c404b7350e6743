"""``/v1/certificates`` and the CA publication points named in certificates' AIA."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Response

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep
from certcenter.api.schemas import CertificateOut
from certcenter.errors import CertCenterError
from certcenter.pki.pem import certificate_pem

router = APIRouter(tags=["certificates (인증서)"])
PEM = "application/x-pem-file"


@router.get("/v1/certificates/{serial}", response_model=CertificateOut)
@raises("CERTIFICATE_NOT_FOUND")
def certificate(serial: str, center: CenterDep) -> CertificateOut:
    """A certificate and its status. Certificates are public documents."""
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(serial.upper())
    if record is None or record.der is None:
        raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial[:64])
    return CertificateOut(
        serial=record.serial,
        status=record.status,
        profile=record.profile,
        subject=record.subject,
        not_before=record.not_before,
        not_after=record.not_after,
        issued_at=record.issued_at,
        revoked_at=record.revoked_at,
        revocation_reason=record.revocation_reason,
        certificate=certificate_pem(x509.load_der_x509_certificate(record.der)),
    )


@router.get(
    "/v1/ca/{family}/chain", response_class=Response, responses={200: {"content": {PEM: {}}}}
)
@raises("NOT_FOUND")
def chain(family: str, center: CenterDep) -> Response:
    """The issuing CA and root of a certificate family, PEM, issuing CA first."""
    if family not in center.hierarchy().families:
        raise CertCenterError("NOT_FOUND")
    return Response("".join(center.chain_pem(family)), media_type=PEM)


@router.get("/ca/{name}.der", response_class=Response, include_in_schema=False)
def ca_der(name: str, center: CenterDep) -> Response:
    """CA certificates in DER at the caIssuers URLs (``/ca/mobile-ca.der``, ``/ca/root-ca.der``;
    each CA generation after a key rollover under its key's label, ``/ca/mobile-ca.2.der``)."""
    hierarchy = center.hierarchy()
    authority = hierarchy.authority(name)
    if name == "root-ca":
        cert = hierarchy.root.certificate
    elif authority is not None:
        cert = authority.certificate
    else:
        raise CertCenterError("NOT_FOUND")
    return Response(cert.public_bytes(Encoding.DER), media_type="application/pkix-cert")
