"""Distinguished names of the center's certificates, and the checks that keep them clean.

    subject = end_entity_subject(settings, "personal", SubjectInfo("홍길동", "C0012345"))
    subject.rfc4514_string()   # '2.5.4.5=C0012345,CN=홍길동,OU=personal,O=…,C=KR'

A customer is named by ``customer_ref`` (the bank's customer reference) in the subject
serialNumber, never by a resident registration number: 13 digits in a row (the hyphen after
the 6th allowed), or a longer run, is refused in every attribute. Attribute encodings are
cryptography's defaults: PrintableString for C and serialNumber, UTF8String for the others
(Korean names need it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from certcenter.config import Settings

__all__ = [
    "COUNTRY",
    "SubjectInfo",
    "ca_subject",
    "check_no_rrn",
    "end_entity_subject",
    "joint_subject",
]

COUNTRY = "KR"
_UPPER_BOUND = 64  # ub-common-name, ub-organization-name, ub-serial-number … (RFC 5280)
_RRN = re.compile(r"\d{6}[-\s]?\d{7}")  # also any longer run of digits
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")  # PrintableString's alphabet
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_JOINT_NUMBER = re.compile(r"\d{14,32}")  # the NPKI CN's number: longer than any RRN


@dataclass(frozen=True)
class SubjectInfo:
    """Who a certificate is for: a display name and the bank's customer reference."""

    common_name: str
    customer_ref: str


def check_no_rrn(what: str, value: str) -> None:
    """:class:`ValueError` if ``value`` holds what looks like a resident registration number."""
    if _RRN.search(value):
        raise ValueError(f"{what} must not contain a resident registration number")


def _check_text(what: str, value: str) -> str:
    if not value or value != value.strip():
        raise ValueError(f"{what} must be non-empty without surrounding spaces")
    if len(value) > _UPPER_BOUND:
        raise ValueError(f"{what} is longer than {_UPPER_BOUND} characters")
    if _CONTROL.search(value):
        raise ValueError(f"{what} contains control characters")
    check_no_rrn(what, value)
    return value


def ca_subject(settings: Settings, common_name: str) -> x509.Name:
    """``C=KR, O=<bank_name>, CN=<common_name>``."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(
                NameOID.ORGANIZATION_NAME, _check_text("bank_name", settings.bank_name)
            ),
            x509.NameAttribute(NameOID.COMMON_NAME, _check_text("CA common name", common_name)),
        ]
    )


def end_entity_subject(
    settings: Settings, organizational_unit: str | None, info: SubjectInfo
) -> x509.Name:
    """``C=KR, O=<bank_name>[, OU=<ou>], CN=<common_name>, serialNumber=<customer_ref>``."""
    customer_ref = _check_text("customer_ref", info.customer_ref)
    if not _PRINTABLE.fullmatch(customer_ref):
        raise ValueError(
            "customer_ref must use PrintableString characters (A-Z a-z 0-9 '()+,-./:=? )"
        )
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _check_text("bank_name", settings.bank_name)),
    ]
    if organizational_unit is not None:
        unit = _check_text("organizational unit", organizational_unit)
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes += [
        x509.NameAttribute(NameOID.COMMON_NAME, _check_text("common_name", info.common_name)),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, customer_ref),
    ]
    return x509.Name(attributes)


def display_name(name: x509.Name) -> str:
    """RFC 4514 text with the subject serialNumber named rather than shown as an OID."""
    return name.rfc4514_string({NameOID.SERIAL_NUMBER: "serialNumber"})


def joint_subject(settings: Settings, name: str, number: str) -> x509.Name:
    """The NPKI subject of a joint certificate (공동인증서), RFC 4514 text
    ``CN=<name>()<number>,OU=<bank>,OU=personal4IB,O=<CA>,C=KR``: the parts from
    ``settings.joint_subject_*`` (O defaults to ``bank_name``). ``number`` is the
    registration's own number of 14 to 32 digits (never a resident number: that has 13), the
    name is checked like every other subject text."""
    if not _JOINT_NUMBER.fullmatch(number):
        raise ValueError("the joint certificate's number is 14 to 32 digits")
    organization = settings.joint_subject_organization or settings.bank_name
    common_name = _check_text("common_name", name) + "()" + number
    if len(common_name) > _UPPER_BOUND:
        raise ValueError(f"common_name is longer than {_UPPER_BOUND} characters")
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _check_text("CA name", organization)),
            x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME,
                _check_text("personal unit", settings.joint_subject_personal_unit),
            ),
            x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME,
                _check_text("bank unit", settings.joint_subject_bank_unit),
            ),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
