"""The PKCS#11 tests run against SoftHSM2: a token directory made once per test session.

Without Debian's ``softhsm2`` these tests are skipped, unless CERTCENTER_TEST_REQUIRE_SOFTHSM=1
(CI: ``.ci/run`` sets it and installs the package) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from certcenter.keys import Pkcs11KeyBackend
from tests.support.softhsm import SOFTHSM_MODULE, TOKENS, USER_PIN, SoftHsm, missing_reason


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CERTCENTER_TEST_REQUIRE_SOFTHSM") == "1":
            pytest.fail(f"SoftHSM2 required: {reason}")
        pytest.skip(reason)
    hsm = SoftHsm.create(tmp_path_factory.mktemp("softhsm"))
    for label in TOKENS:
        hsm.init_token(label)
    return hsm


@pytest.fixture(scope="session")
def token_backend(softhsm: SoftHsm) -> Pkcs11KeyBackend:
    """The session's backend on the ``certcenter`` token: keys made by one test stay."""
    return Pkcs11KeyBackend(SOFTHSM_MODULE, "certcenter", USER_PIN)


@pytest.fixture
def blank_backend(softhsm: SoftHsm) -> Iterator[Pkcs11KeyBackend]:
    """A backend on the ``blank`` token, emptied after the test."""
    backend = Pkcs11KeyBackend(SOFTHSM_MODULE, "blank", USER_PIN)
    yield backend
    import pkcs11

    def empty(session: pkcs11.Session) -> None:
        for found in list(session.get_objects()):
            found.destroy()

    backend._connection.run(USER_PIN, empty)
