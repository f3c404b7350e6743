"""A changed public URL: every partition is published under each URL its certificates name.

RFC 5280 §5.2.5 and §6.3.3: a CRL with an issuingDistributionPoint applies to a certificate
only when that name is the certificate's own CRL distribution point. OpenSSL checks it
(``different CRL scope``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from certcenter.entities import CertificateStatus
from certcenter.pki.crl import crl_shard_of
from tests.conftest import LiveServer
from tests.revocation.support import (
    Issued,
    Pki,
    change_status,
    crl_pem,
    issue,
    openssl_verify,
    serials_in_shard,
)
from tests.support.flow import FlowFactory

MOVED = "http://pki.bank.example"
SHARD = 5


def _distribution_point(issued: Issued) -> str:
    points = issued.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    (point,) = points.value
    assert point.full_name is not None
    (name,) = point.full_name
    assert isinstance(name, x509.UniformResourceIdentifier)
    return name.value


def _fetch_as_named(
    api: LiveServer, url: str, path: Path
) -> tuple[x509.CertificateRevocationList, Path]:
    """GET the CRL at the URL a certificate names (the live server stands in for its host)."""
    parts = urlsplit(url)
    got = httpx.get(f"{api.url}{parts.path}", headers={"Host": parts.netloc}, timeout=30)
    assert got.status_code == 200, got.text
    return x509.load_der_x509_crl(got.content), crl_pem(got.content, path)


def _scope(crl: x509.CertificateRevocationList) -> str:
    idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    assert idp.full_name is not None
    return str(idp.full_name[0].value)


def test_certificates_from_before_and_after_a_url_change_both_pass_crl_checks(
    center: Center,
    api: LiveServer,
    pki: Pki,
    new_flow: FlowFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shards = center.settings.policy.crl_shards
    serials_in_shard(monkeypatch, SHARD, shards)
    before = issue(new_flow, "C001", tmp_path)
    old_url = _distribution_point(before)
    assert old_url == f"{center.settings.public_base_url}/crl/mobile-{SHARD}.crl"

    moved = center.reconfigured(center.settings.model_copy(update={"public_base_url": MOVED}))
    api.serve(moved)  # the operator changed public_base_url and restarted the center
    after = issue(new_flow, "C002", tmp_path)
    new_url = _distribution_point(after)
    assert new_url == f"{MOVED}/crl/mobile-{SHARD}.crl"
    assert crl_shard_of(before.number, shards) == crl_shard_of(after.number, shards) == SHARD

    moved.revocation.crls.publish_due()
    assert moved.revocation.crls.distribution_points("mobile", SHARD) == [old_url, new_url]
    for issued, url, name in ((before, old_url, "old"), (after, new_url, "new")):
        crl, pem = _fetch_as_named(api, url, tmp_path / f"{name}.pem")
        assert _scope(crl) == url
        checked = openssl_verify(pki, issued.leaf, pem)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    # each certificate's CRL is its own: the other URL's is not in its scope
    _, other = _fetch_as_named(api, new_url, tmp_path / "other.pem")
    refused = openssl_verify(pki, before.leaf, other)
    assert "different CRL scope" in refused.stdout + refused.stderr

    # a revocation is published under both URLs at once
    change_status(moved, before.serial, CertificateStatus.REVOKED, x509.ReasonFlags.key_compromise)
    _, old_pem = _fetch_as_named(api, old_url, tmp_path / "old-revoked.pem")
    revoked = openssl_verify(pki, before.leaf, old_pem)
    assert "certificate revoked" in revoked.stdout + revoked.stderr
    new_crl, new_pem = _fetch_as_named(api, new_url, tmp_path / "new-revoked.pem")
    assert new_crl.get_revoked_certificate_by_serial_number(before.number) is not None
    assert openssl_verify(pki, after.leaf, new_pem).returncode == 0


def test_each_url_numbers_its_crls_upward_and_the_unnamed_url_is_not_published(
    center: Center, api: LiveServer, new_flow: FlowFactory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    serials_in_shard(monkeypatch, SHARD, center.settings.policy.crl_shards)
    issue(new_flow, "C001", tmp_path)
    moved = center.reconfigured(center.settings.model_copy(update={"public_base_url": MOVED}))
    crls = moved.revocation.crls
    # no certificate names the moved URL yet: the partition is published where they point
    old_url = f"{center.settings.public_base_url}/crl/mobile-{SHARD}.crl"
    assert crls.distribution_points("mobile", SHARD) == [old_url]
    first = crls.publish("mobile", SHARD)
    assert first.distribution_point == old_url
    assert _scope(x509.load_der_x509_crl(first.der)) == old_url
    # an empty partition is published under the configured URL (the demo world's one
    # certificate has a random serial: its partition is not empty)
    with moved.uow_factory(read_only=True) as uow:
        named = {point.shard for point in uow.crl_points.in_use("mobile", moved.clock.now())}
    empty = next(s for s in range(center.settings.policy.crl_shards) if s not in named)
    assert crls.publish("mobile", empty).distribution_point == f"{MOVED}/crl/mobile-{empty}.crl"

    api.serve(moved)
    issue(new_flow, "C002", tmp_path)
    second = crls.publish("mobile", SHARD)
    assert second.distribution_point == f"{MOVED}/crl/mobile-{SHARD}.crl"
    with moved.uow_factory() as uow:
        old = uow.crls.latest("mobile", SHARD, old_url)
    assert old is not None and first.number < old.number < second.number


def test_crl_publish_refuses_a_configuration_whose_url_no_certificate_names(
    tmp_path: Path,
) -> None:
    """``certcenter crl publish`` run with another public URL than the server's refuses
    instead of publishing every partition under a URL nobody's certificate names; run as the
    installation is set up (its certcenter.toml, written by init), it publishes."""
    env = {
        "CERTCENTER_DATA_DIR": str(tmp_path / "var"),
        "CERTCENTER_LANG": "en",
        "CERTCENTER_PUBLIC_BASE_URL": MOVED,
    }
    runner = CliRunner()
    made = runner.invoke(cli, ["init"], env=env)  # the demo world holds issued certificates
    assert made.exit_code == 0, made.output

    elsewhere = {**env, "CERTCENTER_PUBLIC_BASE_URL": "http://127.0.0.1:8000"}
    refused = runner.invoke(cli, ["crl", "publish"], env=elsewhere)
    assert refused.exit_code == 1, refused.output
    assert "[CRL_DISTRIBUTION_POINT_MISMATCH]" in refused.output
    assert MOVED in refused.output and "http://127.0.0.1:8000" in refused.output
    assert "Traceback" not in refused.output

    published = runner.invoke(cli, ["crl", "publish"], env=env)
    assert published.exit_code == 0, published.output
    assert '"crl_numbers"' in published.output
    # without the variable, the installation's own configuration names the server's URL
    without = {k: v for k, v in env.items() if k != "CERTCENTER_PUBLIC_BASE_URL"}
    found = runner.invoke(cli, ["crl", "publish"], env=without)
    assert found.exit_code == 0, found.output
