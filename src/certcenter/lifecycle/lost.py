"""분실 신고: a customer who lost their phone suspends its certificate at once.

They no longer have the phone, so they cannot sign with it: the report is verified by the
carrier's subscriber check (name, the first 7 digits of the resident number, the number and
the carrier — the line is still theirs). Suspension is safe to grant on that much: it can be
released by the customer from the found phone (device signature + PIN) or by an operator,
and revoked if the phone stays lost.

    outcomes = LostPhoneReports(uow_factory, telco, lifecycle, clock).report(
        carrier="SKT", name="김민준", rrn_front="900315-1", phone="01020000001",
        source_ip="127.0.0.1")
"""

from __future__ import annotations

from certcenter.clock import Clock, today
from certcenter.entities import CertificateStatus
from certcenter.errors import CertCenterError
from certcenter.identity.phone_numbers import Carrier, normalise_mobile
from certcenter.identity.providers import TelcoVerifier
from certcenter.identity.rrn import parse_rrn_front
from certcenter.lifecycle.service import ActorRef, LifecycleService, Outcome
from certcenter.ports import UnitOfWorkFactory


class LostPhoneReports:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        telco: TelcoVerifier,
        lifecycle: LifecycleService,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.telco = telco
        self.lifecycle = lifecycle
        self.clock = clock

    def report(
        self, *, carrier: str, name: str, rrn_front: str, phone: str, source_ip: str | None
    ) -> list[Outcome]:
        try:
            chosen = Carrier(carrier)
        except ValueError:
            raise CertCenterError("INVALID_REQUEST", detail="unknown carrier") from None
        front = parse_rrn_front(rrn_front, today=today(self.clock))
        person = self.telco.verify_subscriber(
            carrier=chosen, name=name.strip(), rrn_front=front, phone=normalise_mobile(phone)
        )
        with self.uow_factory() as uow:
            customer = uow.customers.by_ci(person.ci)
            if customer is None:
                raise CertCenterError("CUSTOMER_NOT_FOUND")
            serials = [
                c.serial
                for c in uow.certificates.for_customer(
                    customer.id, family="mobile", statuses=[CertificateStatus.ACTIVE.value]
                )
            ]
        if not serials:
            raise CertCenterError("DEVICE_NOT_REGISTERED")
        actor = ActorRef.customer(customer.customer_number, source_ip)
        return [self.lifecycle.suspend(serial, actor, why="lost_phone") for serial in serials]
