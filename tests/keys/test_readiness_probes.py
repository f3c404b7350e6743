"""``/readyz``'s keys check probes every key backend a purpose uses, names the purposes of
the one that fails, and keeps its result a short time so probing stays cheap."""

from __future__ import annotations

from pathlib import Path

from certcenter.audit.checkpoints import CHECKPOINT_KEY_LABEL
from certcenter.bootstrap import PEPPER_LABEL, key_probes
from certcenter.keys import KeyBackends, SoftwareKeyBackend
from certcenter.pki.hierarchy import FAMILIES
from certcenter.readiness import Readiness, key_backends_check

ISSUING_CA = FAMILIES[0]  # what the CA purpose probe looks for (the root may be kept apart)


def _backends(tmp_path: Path) -> tuple[KeyBackends, SoftwareKeyBackend]:
    """The CA keys and secrets in one backend, the OCSP and customer keys in another."""
    held = SoftwareKeyBackend(tmp_path / "held", "held passphrase")
    held.generate_key(ISSUING_CA.key_label)
    held.ensure_secret(PEPPER_LABEL)
    signing = SoftwareKeyBackend(tmp_path / "signing", "signing passphrase")
    signing.generate_key(CHECKPOINT_KEY_LABEL)
    keys = KeyBackends(default=signing, ca=held, ocsp=signing, customer=signing, secrets=held)
    return keys, held


def test_every_backend_is_probed_and_a_failure_names_its_purposes(tmp_path: Path) -> None:
    keys, held = _backends(tmp_path)
    probes = key_probes(keys)
    assert [probe.purposes for probe in probes] == [("ocsp", "customer"), ("ca", "secrets")]
    ready = Readiness({"keys": key_backends_check(probes, keep_seconds=0)})
    assert ready.run().ok
    # the CA keys' and secrets' backend opened with another passphrase: its pepper does not
    wrong = SoftwareKeyBackend(held.directory, "another passphrase")
    broken = KeyBackends(default=keys.ocsp, ca=wrong, ocsp=keys.ocsp, customer=keys.ocsp,
                         secrets=wrong)  # fmt: skip
    report = Readiness({"keys": key_backends_check(key_probes(broken), keep_seconds=0)}).run()
    assert not report.ok
    assert report.failures["keys"].code == "KEY_PASSPHRASE_WRONG"
    assert report.purposes == {"keys": ("ca", "secrets")}
    # the CA's key gone from its backend: not ready either
    held.delete_key(ISSUING_CA.key_label)
    report = ready.run()
    assert report.failures["keys"].code == "KEY_NOT_FOUND"
    assert report.purposes["keys"] == ("ca", "secrets")


def test_the_probe_result_is_kept_a_short_time(tmp_path: Path) -> None:
    keys, held = _backends(tmp_path)
    now = [100.0]
    check = key_backends_check(key_probes(keys), keep_seconds=2, monotonic=lambda: now[0])
    ready = Readiness({"keys": check})
    assert ready.run().ok
    held.delete_key(ISSUING_CA.key_label)
    now[0] += 1.5
    assert ready.run().ok  # the kept result: no probe yet
    now[0] += 0.5
    assert ready.run().failures["keys"].code == "KEY_NOT_FOUND"
    held.generate_key(ISSUING_CA.key_label)
    assert not ready.run().ok  # a failure is kept as long
    now[0] += 2
    assert ready.run().ok
