"""Helpers for the key custody tests."""

from __future__ import annotations

from certcenter.bootstrap import Center


def cli_env(center: Center) -> dict[str, str]:
    """The environment of an operator's command on this test's center."""
    s = center.settings
    return {
        "CERTCENTER_DATA_DIR": str(s.data_dir),
        "CERTCENTER_DATABASE_URL": s.database_url,
        "CERTCENTER_KEY_DIR": str(s.keys_path),
        "CERTCENTER_CA_DIR": str(s.ca_path),
        "CERTCENTER_KEY_PASSPHRASE": "test-passphrase",
        "CERTCENTER_LANG": "en",
    }
