"""SoftHSM2 tokens for the PKCS#11 tests, each test session in a directory of its own.

    hsm = SoftHsm.create(tmp_path)               # writes softhsm2.conf, sets SOFTHSM2_CONF
    hsm.init_token("certcenter", pin="123456")   # softhsm2-util --init-token --free
    Pkcs11KeyBackend(SOFTHSM_MODULE, "certcenter", "123456")

SoftHSM2 reads ``SOFTHSM2_CONF`` once, when the module is loaded into the process; so one
configuration (one token directory) serves the whole session of a test process, and every
token a test needs is made before the module is first loaded (:data:`TOKENS`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
SOFTHSM_UTIL = "softhsm2-util"
SO_PIN = "87654321"
USER_PIN = "123456"
# token label -> what it is for
TOKENS = {
    "certcenter": "the center's keys (shared by the session's tests)",
    "pin-check": "a token only the wrong-PIN test logs in to",
    "blank": "a token every test starts from empty (each test deletes what it made)",
}


def missing_reason() -> str | None:
    """Why SoftHSM2 cannot be used here, or None when it can."""
    if not SOFTHSM_MODULE.is_file():
        return f"{SOFTHSM_MODULE} is missing (apt-get install softhsm2)"
    if shutil.which(SOFTHSM_UTIL) is None:
        return f"{SOFTHSM_UTIL} is not on PATH (apt-get install softhsm2)"
    return None


@dataclass(frozen=True)
class SoftHsm:
    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "softhsm2.conf"

    @property
    def token_dir(self) -> Path:
        return self.directory / "tokens"

    @classmethod
    def create(cls, directory: Path, *, this_process: bool = True) -> SoftHsm:
        """Token directory and configuration in ``directory``; ``this_process``: this
        process's module reads it (SOFTHSM2_CONF), else only the commands given :attr:`env`."""
        hsm = cls(directory)
        hsm.token_dir.mkdir(parents=True, mode=0o700)
        hsm.config.write_text(
            f"directories.tokendir = {hsm.token_dir}\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n",
            encoding="utf-8",
        )
        if this_process:
            os.environ["SOFTHSM2_CONF"] = str(hsm.config)
        return hsm

    @property
    def env(self) -> dict[str, str]:
        """This process's environment, with SOFTHSM2_CONF naming this configuration."""
        return {**os.environ, "SOFTHSM2_CONF": str(self.config)}

    def init_token(self, label: str, pin: str = USER_PIN) -> None:
        subprocess.run(
            [
                SOFTHSM_UTIL,
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                pin,
                "--so-pin",
                SO_PIN,
            ],
            check=True,
            capture_output=True,
            env=self.env,
        )
