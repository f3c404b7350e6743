"""A joint certificate in an NPKI folder, written with certcenter.npki from a throwaway RSA CA
in the form PyPinkSign reads (seedCBCWithSHA1), for the copy's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from certcenter.npki import KeyFileForm, write_folder
from certcenter.pki.vid import vid_other_name
from tests.npki.conftest import PASSWORD, RANDOM, RRN, Holder
from tests.support.throwaway_ca import ThrowawayCa

__all__ = ["PASSWORD", "Holder"]


@pytest.fixture(scope="module")
def holder() -> Holder:
    ca = ThrowawayCa.make("yessign")
    leaf = ca.issue("홍길동()0012345678901234", vid=vid_other_name("홍길동", RRN, RANDOM))
    return Holder(ca=ca, certificate=leaf.certificate, key=leaf.key, random_num=RANDOM)


@pytest.fixture
def pc_folder(holder: Holder, tmp_path: Path) -> Path:
    """The sending device's certificate folder: NPKI/yessign/USER/cn=…/signCert.der, …"""
    return write_folder(
        tmp_path / "pc" / "NPKI",
        holder.certificate,
        holder.key,
        PASSWORD,
        random_num=holder.random_num,
        form=KeyFileForm.SEED_CBC_WITH_SHA1,
    )
