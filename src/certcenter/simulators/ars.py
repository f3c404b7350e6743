"""The ARS simulator (자동응답 전화): calls a phone and records what its holder keys in.

ars = SimulatedArs(store, clock)
call_id = ars.place_call(phone="01012345678", prompt="화면의 번호 2자리를 누르세요")
# the person answers: `certcenter sim ars answer 01012345678 47`, or /sim/ars
ars.outcome(call_id)   # ArsOutcome(status="answered", keyed="47")
"""

from __future__ import annotations

from certcenter.clock import Clock
from certcenter.entities import new_id
from certcenter.identity.providers import ArsOutcome
from certcenter.storage.simulator_store import SimulatorStore


class SimulatedArs:
    def __init__(self, store: SimulatorStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def place_call(self, *, phone: str, prompt: str) -> str:
        call_id = new_id()
        self.store.place_call(call_id=call_id, phone=phone, prompt=prompt, at=self.clock.now())
        return call_id

    def outcome(self, call_id: str) -> ArsOutcome:
        call = self.store.call(call_id)
        if call is None:
            return ArsOutcome(status="unknown")
        keyed = call["keyed"]
        return ArsOutcome(status=str(call["status"]), keyed=None if keyed is None else str(keyed))

    # what the person at the phone does
    def ringing(self, phone: str) -> dict[str, object] | None:
        """The newest call still ringing on this phone."""
        for call in self.store.calls(phone, limit=5):
            if call["status"] == "ringing":
                return call
        return None

    def answer(self, phone: str, keyed: str | None) -> bool:
        call = self.ringing(phone)
        if call is None:
            return False
        return self.store.answer_call(str(call["id"]), keyed=keyed, at=self.clock.now())
