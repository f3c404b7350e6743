"""Settings: defaults for the demo, the documented example file, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from certcenter.config import load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "certcenter.example.toml"


def test_demo_defaults_need_no_configuration(tmp_path: Path) -> None:
    settings = load_settings(environ={"CERTCENTER_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/certcenter.db"
    assert settings.sims_enabled is True
    assert settings.policy.sms_code_ttl_seconds == 180
    assert settings.policy.mobile_certificate_validity_days == 730


def test_the_documented_example_file_loads_and_env_overrides_it() -> None:
    settings = load_settings(
        config_file=EXAMPLE, environ={"CERTCENTER_POLICY__SMS_CODE_MAX_TRIES": "3"}
    )
    assert settings.environment == "production"
    assert settings.sims_enabled is False
    assert settings.workers == 2
    assert settings.policy.sms_code_max_tries == 3  # the variable wins over the file
    assert settings.policy.min_app_version == {"android": "5.0.0", "ios": "5.0.0"}


def test_unknown_keys_and_weak_hashing_are_refused() -> None:
    with pytest.raises(ValidationError):
        load_settings(environ={}, no_such_setting=1)
    with pytest.raises(ValidationError):
        load_settings(environ={"CERTCENTER_POLICY__ARGON2_MEMORY_KIB": "1024"})
