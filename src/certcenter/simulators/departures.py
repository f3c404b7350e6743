"""The departure-records simulator (출입국 기록): who is abroad now, and since when.

    departures = SimulatedDepartures(store)
    departures.status(ci, today=date(2026, 11, 23))
    # DepartureStatus(abroad=True, country="US", departed_on=date(2026, 10, 2), returned_on=None)

Seeded from the demo world's ``departure = { country = "US", departed = 2026-10-02 }`` (with
``returned = …`` for someone who is back); ``certcenter sim departures`` and
``/sim/departures`` list the records, and a person's return can be recorded there.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from certcenter.identity.providers import DepartureStatus
from certcenter.storage.simulator_store import SimulatorStore


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class SimulatedDepartures:
    def __init__(self, store: SimulatorStore) -> None:
        self.store = store

    def status(self, ci: str, *, today: date) -> DepartureStatus:
        trips = self.store.departures_of(ci)
        for trip in trips:
            departed = _as_date(trip["departed_on"])
            returned = _as_date(trip["returned_on"])
            if (
                departed is not None
                and departed <= today
                and (returned is None or returned > today)
            ):
                return DepartureStatus(
                    abroad=True, country=str(trip["country"]), departed_on=departed
                )
        past = [t for t in trips if (_as_date(t["departed_on"]) or today) <= today]
        if not past:
            return DepartureStatus(abroad=False)
        last = past[0]
        return DepartureStatus(
            abroad=False,
            country=str(last["country"]),
            departed_on=_as_date(last["departed_on"]),
            returned_on=_as_date(last["returned_on"]),
        )

    # what the immigration office (the person at the border) does
    def depart(self, *, ci: str, name: str, country: str, on: date) -> int:
        return self.store.add_departure(ci=ci, name=name, country=country.upper(), departed_on=on)

    def come_back(self, ci: str, *, on: date) -> bool:
        return self.store.record_return(ci, on)
