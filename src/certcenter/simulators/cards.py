"""The card printer: a new security card (보안카드) goes into its holder's hands.

In the demo world the printed card is kept in the simulators' database, where the person
reads it (`certcenter sim card <customer>`, /sim pages); the center keeps only digests.
"""

from __future__ import annotations

from certcenter.clock import Clock
from certcenter.storage.simulator_store import SimulatorStore


class SimulatedCardDelivery:
    def __init__(self, store: SimulatorStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def deliver(self, *, holder_ci: str, serial: str, slots: list[str]) -> None:
        self.store.deliver_card(
            serial=serial, holder_ci=holder_ci, slots=list(slots), at=self.clock.now()
        )
