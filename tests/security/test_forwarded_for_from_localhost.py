"""``X-Forwarded-For`` is believed from no one by default: a local process cannot claim a
foreign (or any) address. Configured with the reverse proxy's address, it is believed."""

from __future__ import annotations

from pathlib import Path

import pytest

from certcenter.config import Settings, load_settings
from tests.conftest import make_settings
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory


def test_no_proxy_is_trusted_by_default() -> None:
    assert load_settings(environ={}).trusted_proxies == []


class TestByDefault:
    @pytest.fixture
    def settings(
        self, backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
    ) -> Settings:
        from tests.conftest import _reset_postgres

        url = None
        if backend == "postgresql":
            url = request.getfixturevalue("postgres_database")
            _reset_postgres(url)
        made = make_settings(tmp_path, pki_dir, url, trusted_proxies=[])
        assert made.trusted_proxies == Settings.model_fields["trusted_proxies"].default
        return made

    def test_forwarded_for_from_127_0_0_1_is_ignored(self, new_flow: FlowFactory) -> None:
        claimed_abroad = new_flow("C013", forwarded_for="203.0.113.10")
        claimed_abroad.through("terms")
        claimed_abroad.phone()  # 127.0.0.1 is domestic: the claim changed nothing

    def test_a_forged_header_is_not_even_read(self, new_flow: FlowFactory) -> None:
        forged = new_flow("C014", forwarded_for="not-an-ip")
        forged.through("terms")


def test_forwarded_for_from_a_configured_proxy_is_believed(new_flow: FlowFactory) -> None:
    # tests/conftest.py configures 127.0.0.1 and ::1 as the reverse proxy
    abroad = new_flow("C013", forwarded_for="203.0.113.10")
    abroad.through("terms")
    assert_refusal(abroad.refused("phone"), "FOREIGN_IP_BLOCKED")
