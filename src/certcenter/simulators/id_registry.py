"""The ID registry simulator (행정안전부 주민등록증, 경찰청 운전면허, 외교부 여권 진위확인).

    registry = SimulatedIdRegistry(store)
    holder_ci = registry.verify(resident_card, today=date(2026, 11, 23))

The registry knows resident numbers only as HMACs under its own secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

from certcenter.errors import CertCenterError
from certcenter.identity.documents import DriverLicence, Passport, ResidentCard
from certcenter.identity.providers import IdDocument
from certcenter.storage.simulator_store import SimulatorStore

REGISTRY_SECRET_KEY = "registry_secret"  # noqa: S105 - the name of a meta row, not a secret


def rrn_fingerprint(store: SimulatorStore, rrn_digits: str) -> str:
    secret = bytes.fromhex(store.set_meta_once(REGISTRY_SECRET_KEY, secrets.token_hex(32)))
    return hmac.new(secret, rrn_digits.encode("ascii"), hashlib.sha256).hexdigest()


def _same(a: object, b: object) -> bool:
    return hmac.compare_digest(str(a).encode(), str(b).encode())


class SimulatedIdRegistry:
    def __init__(self, store: SimulatorStore) -> None:
        self.store = store

    def verify(self, document: IdDocument, *, today: date) -> str:
        if isinstance(document, ResidentCard):
            return self._resident_card(document)
        if isinstance(document, DriverLicence):
            return self._driver_licence(document)
        return self._passport(document, today)

    def _resident_card(self, card: ResidentCard) -> str:
        cards = self.store.resident_cards(rrn_fingerprint(self.store, card.rrn.digits))
        for row in cards:
            if row["issue_date"] == card.issue_date and _same(row["name"], card.name):
                if not row["current"]:
                    raise CertCenterError("ID_CARD_REISSUED")
                return str(row["ci"])
        raise CertCenterError("ID_NOT_VERIFIED")

    def _driver_licence(self, licence: DriverLicence) -> str:
        row = self.store.driver_licence(licence.number)
        if (
            row is None
            or row["status"] != "valid"
            or not _same(row["name"], licence.name)
            or row["birth_date"] != licence.birth_date
            or not _same(row["serial"], licence.serial)
        ):
            raise CertCenterError("ID_NOT_VERIFIED")
        return str(row["ci"])

    def _passport(self, passport: Passport, today: date) -> str:
        row = self.store.passport(passport.number)
        if (
            row is None
            or not _same(row["name"], passport.name)
            or row["birth_date"] != passport.birth_date
            or row["expiry"] != passport.expiry
        ):
            raise CertCenterError("ID_NOT_VERIFIED")
        if row["expiry"] < today:
            raise CertCenterError("ID_EXPIRED", expiry=row["expiry"].isoformat())
        return str(row["ci"])
