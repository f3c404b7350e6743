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


def test_workers_default_to_one_per_core_and_to_a_few_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres = "postgresql+psycopg://certcenter@db:5432/certcenter"

    def workers(cpus: int | None, **values: object) -> int:
        monkeypatch.setattr("certcenter.config.os.cpu_count", lambda: cpus)
        return load_settings(environ={"CERTCENTER_DATA_DIR": str(tmp_path)}, **values).workers

    assert workers(8, database_url=postgres) == 8
    assert workers(200, database_url=postgres) == 64
    assert workers(None, database_url=postgres) == 1  # the core count is unknown
    assert workers(2) == 2  # SQLite
    assert workers(8) == 4  # SQLite: writers take turns for the one write lock
    assert workers(8, workers=6) == 6  # a setting is obeyed, on SQLite too
    assert workers(8, database_url=postgres, workers=1) == 1
    monkeypatch.setenv("CERTCENTER_WORKERS", "3")
    assert load_settings().workers == 3
    for wrong in (-1, 65):
        with pytest.raises(ValidationError):
            workers(8, workers=wrong)
