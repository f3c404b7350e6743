"""The CA's key ceremonies (키 생성식) under ``certcenter keys ceremony`` (operator, local).

    $ certcenter keys ceremony init-root > root-record.json
    $ certcenter keys ceremony issue-ca --family mobile
    $ certcenter keys ceremony rollover-ca --family mobile
    $ certcenter keys ceremony rotate ocsp-signer --family mobile
    $ certcenter keys ceremony sign-root-crl
    $ certcenter keys verify-record root-record.json

Each prints its record (signed by the audit checkpoint key, also in the audit trail); the
work is :class:`certcenter.lifecycle.key_ceremonies.CaCeremonies`'.
"""

from __future__ import annotations

from typing import Any

import click

from certcenter.cli.common import handle_errors, local_center, local_settings, operator_actor
from certcenter.cli.key_commands import echo_record

__all__ = [
    "ceremony_init_root",
    "ceremony_issue_ca",
    "ceremony_rollover_ca",
    "ceremony_sign_root_crl",
    "rotate_ocsp",
]


def _operator() -> str:
    return str(operator_actor().id)


def _run(work: Any) -> None:
    center = local_center()
    try:
        record = work(center)
    finally:
        center.close()
    echo_record(record)


@click.command("init-root")
@handle_errors
def ceremony_init_root() -> None:
    """Make the root CA key and its self-signed certificate (once; refused if a root exists).

    Sets up the databases and the audit checkpoint key first when this is a new installation,
    never the CA: issue each family's CA with `issue-ca` afterwards."""
    from certcenter.bootstrap import build_center, prepare

    settings = local_settings(installed=False)
    prepare(settings)
    center = build_center(settings)
    try:
        record = center.ca_ceremonies.init_root(operator=_operator())
    finally:
        center.close()
    echo_record(record)


@click.command("issue-ca")
@click.option("--family", required=True, help="mobile, financial or joint.")
@handle_errors
def ceremony_issue_ca(family: str) -> None:
    """Make a family's issuing CA key and have the root certify it (needs the root key).

    Refused when the family's CA exists (its key is replaced with `rollover-ca`), when the
    root key is not present, and for an unknown family."""
    _run(lambda center: center.ca_ceremonies.issue_ca(family, operator=_operator()))


@click.command("rollover-ca")
@click.option("--family", required=True, help="mobile, financial or joint.")
@handle_errors
def ceremony_rollover_ca(family: str) -> None:
    """Roll a family's issuing CA over to a new key (needs the root key and the old CA key).

    The new key is made in the configured CA key backend (the HSM's token with
    key_backend_ca = "pkcs11"); the root certifies it and the old key cross-certifies it.
    New certificates are issued under the new key; the old key keeps signing the CRLs and
    OCSP responses of what it issued until its certificate expires. Restart the servers
    afterwards."""
    _run(lambda center: center.ca_ceremonies.rollover_ca(family, operator=_operator()))


@click.command("ocsp-signer")
@click.option("--family", default="mobile", show_default=True, help="mobile, financial or joint.")
@handle_errors
def rotate_ocsp(family: str) -> None:
    """A new OCSP responder key and certificate for a family's CA; running servers take it
    up within a minute, the old key stays until its certificate expires."""
    _run(lambda center: center.ca_ceremonies.rotate_ocsp_signer(family, operator=_operator()))


@click.command("sign-root-crl")
@handle_errors
def ceremony_sign_root_crl() -> None:
    """Sign and publish the root CA's CRL (the ARL, /crl/root.crl) with the root key."""

    def sign(center: Any) -> Any:
        record, crl = center.ca_ceremonies.sign_root_crl(operator=_operator())
        click.echo(
            f"root CRL number {crl.number} published ({crl.entries} entries, "
            f"next update {crl.next_update:%Y-%m-%d %H:%M} UTC)",
            err=True,
        )
        return record

    _run(sign)
