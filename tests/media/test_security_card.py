"""The security card (보안카드): issuance, registration, challenges, lockout, and what is stored."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from certcenter.bootstrap import CARD_DIGEST_LABEL, Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef
from certcenter.media.security_card import (
    CardChallenge,
    SecurityCardService,
    answer_for,
    mask_serial,
)
from certcenter.storage import tables

OPERATOR = ActorRef.operator("op-test", "10.0.0.7")


def customer_id(center: Center, number: str) -> str:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number(number)
        assert customer is not None
        return customer.id


def printed(center: Center, serial: str) -> list[str]:
    """The card in its holder's hands (the simulators' side)."""
    row = center.sim_store.card(serial)
    assert row is not None
    return list(row["slots"])


def issue_and_register(center: Center, number: str = "C001") -> tuple[str, str, list[str]]:
    """(customer id, serial, printed slots) of a registered card."""
    cid = customer_id(center, number)
    issued = center.security_cards.issue(number, OPERATOR)
    slots = printed(center, issued.serial)
    question = center.security_cards.start_registration(cid, issued.serial)
    center.security_cards.complete_registration(
        cid, question.id, answer_for(slots, question.slot_a, question.slot_b)
    )
    return cid, issued.serial, slots


def right(slots: list[str], question: CardChallenge) -> str:
    return answer_for(slots, question.slot_a, question.slot_b)


def flip(answer: str) -> str:
    """A wrong answer: the last digit changed."""
    return answer[:3] + str((int(answer[3]) + 1) % 10)


def code_of(work: Any) -> str:
    with pytest.raises(CertCenterError) as refused:
        work()
    return refused.value.code


@pytest.mark.parametrize("size", [30, 35])
def test_issued_card_has_the_policy_size_random_digits_and_a_unique_serial(
    center: Center, size: int
) -> None:
    service = SecurityCardService(
        center.uow_factory,
        center.keys,
        CARD_DIGEST_LABEL,
        center.providers,
        center.factor_guard,
        center.clock,
        center.settings.policy.model_copy(update={"security_card_slots": size}),
        center.audit_trail,
        center.hasher,
    )
    issued = [service.issue("C001", OPERATOR) for _ in range(3)]
    assert len({i.serial for i in issued}) == 3
    cards = [printed(center, i.serial) for i in issued]
    for one, slots in zip(issued, cards, strict=True):
        assert re.fullmatch(r"[1-9][0-9]{9}", one.serial)
        assert one.slots == size and one.customer_number == "C001"
        assert len(slots) == size and all(re.fullmatch(r"[0-9]{4}", s) for s in slots)
    assert len({tuple(c) for c in cards}) == 3  # random: no two cards alike
    assert len({s for c in cards for s in c}) > size  # nor one card's slots all alike

    cid = customer_id(center, "C001")
    with center.uow_factory() as uow:
        stored = {c.serial: c for c in uow.security_cards.for_customer(cid)}
    for one, slots in zip(issued, cards, strict=True):
        card = stored[one.serial]
        assert card.status == "issued" and card.slots == size
        assert set(card.slot_digests) == {f"{n}{h}" for n in range(1, size + 1) for h in "ab"}
        # what the simulator printed is what the center's digests accept
        for n, digits in enumerate(slots, start=1):
            first = center.keys.mac(CARD_DIGEST_LABEL, f"{card.id}:{n}:a:{digits[:2]}".encode())
            last = center.keys.mac(CARD_DIGEST_LABEL, f"{card.id}:{n}:b:{digits[2:]}".encode())
            assert card.slot_digests[f"{n}a"] == first.hex()
            assert card.slot_digests[f"{n}b"] == last.hex()

    question = service.start_registration(cid, issued[1].serial)
    assert 1 <= question.slot_a <= size and 1 <= question.slot_b <= size
    assert question.slot_a != question.slot_b
    view = service.complete_registration(cid, question.id, right(cards[1], question))
    assert view.status == "active" and view.slots == size
    assert view.masked_serial == "******" + issued[1].serial[-4:]


def test_registration_activates_one_card_and_revokes_the_previous_one(center: Center) -> None:
    cid, first_serial, _ = issue_and_register(center)
    second = center.security_cards.issue("C001", OPERATOR)
    # the new card is only issued: the old one stays in use until the new one is registered
    with center.uow_factory() as uow:
        active = uow.security_cards.active_for_customer(cid)
        assert active is not None and active.serial == first_serial
    question = center.security_cards.start_registration(
        cid, second.serial[:5] + "-" + second.serial[5:]
    )
    center.security_cards.complete_registration(
        cid, question.id, right(printed(center, second.serial), question)
    )
    views = {v.serial: v for v in center.security_cards.cards(cid)}
    assert views[first_serial].status == "revoked" and views[first_serial].revoked_at is not None
    assert views[second.serial].status == "active" and views[second.serial].registered_at
    with center.uow_factory() as uow:
        actions = [
            (e.action, e.subject, e.actor_kind)
            for e in uow.audit.entries(limit=1000)
            if e.subject_kind == "security_card"
        ]
    assert ("security_card.issue", second.serial, "operator") in actions
    assert ("security_card.revoke", first_serial, "customer") in actions
    assert ("security_card.register", second.serial, "customer") in actions


def test_registration_refuses_unknown_and_other_customers_cards(center: Center) -> None:
    c001, c002 = customer_id(center, "C001"), customer_id(center, "C002")
    theirs = center.security_cards.issue("C002", OPERATOR)
    cards = center.security_cards
    assert code_of(lambda: cards.start_registration(c001, "9999999999")) == "SECURITY_CARD_UNKNOWN"
    assert (
        code_of(lambda: cards.start_registration(c001, "not a serial")) == "SECURITY_CARD_UNKNOWN"
    )
    assert code_of(lambda: cards.start_registration(c001, theirs.serial)) == "SECURITY_CARD_UNKNOWN"
    assert code_of(lambda: cards.challenge(c001)) == "SECURITY_CARD_NOT_REGISTERED"
    assert code_of(lambda: cards.issue("C999", OPERATOR)) == "CUSTOMER_UNKNOWN"
    # a registration question cannot be answered by someone else
    question = cards.start_registration(c002, theirs.serial)
    answer = right(printed(center, theirs.serial), question)
    assert (
        code_of(lambda: cards.complete_registration(c001, question.id, answer))
        == "SECURITY_CARD_CHALLENGE_INVALID"
    )
    cards.complete_registration(c002, question.id, answer)


def test_right_answer_accepted_and_every_wrong_combination_refused(center: Center) -> None:
    cid, _, slots = issue_and_register(center)
    cards = center.security_cards

    def wrong_answers(q: CardChallenge) -> list[str]:
        a, b = slots[q.slot_a - 1], slots[q.slot_b - 1]

        def bump(two: str) -> str:
            return f"{(int(two) + 1) % 100:02d}"

        return [
            bump(a[:2]) + b[2:],  # first two of A wrong
            a[:2] + bump(b[2:]),  # last two of B wrong
            a[2:] + b[:2],  # the other halves of A and B
            b[:2] + a[2:],  # A and B swapped
            b[2:] + a[:2],  # both swapped
            a,  # all of slot A
            a[:2] + b[2:3] + "x",  # not digits
            "١٢٣٤",  # digits, but not ASCII ones
            " " + a[:2] + b[2:3],
            a[:2] + b[2:] + "0",  # too long
            a[:2] + b[2:3],  # too short
            "",
        ]

    for variant in range(12):
        question = cards.challenge(cid)
        answer = wrong_answers(question)[variant]
        if answer == right(slots, question):
            continue  # a card whose halves happen to coincide: not a wrong answer here
        assert cards.check(cid, question.id, answer) is False, (variant, answer)
    question = cards.challenge(cid)
    assert cards.check(cid, question.id, right(slots, question)) is True
    # check() does not count: the guard of the caller does
    with center.uow_factory() as uow:
        counter = uow.factors.get(cid, "security_card")
        assert counter is None or counter.failures == 0


def test_a_challenge_is_single_use_expires_and_belongs_to_its_customer_and_subject(
    center: Center, clock: FrozenClock
) -> None:
    cid, _, slots = issue_and_register(center, "C001")
    other, _, other_slots = issue_and_register(center, "C002")
    cards = center.security_cards
    invalid = "SECURITY_CARD_CHALLENGE_INVALID"

    used = cards.challenge(cid)
    assert used.expires_at == clock.now() + timedelta(seconds=120)
    assert cards.check(cid, used.id, right(slots, used)) is True
    assert code_of(lambda: cards.check(cid, used.id, right(slots, used))) == invalid
    wrong_once = cards.challenge(cid)
    assert cards.check(cid, wrong_once.id, flip(right(slots, wrong_once))) is False
    assert code_of(lambda: cards.check(cid, wrong_once.id, right(slots, wrong_once))) == invalid

    late = cards.challenge(cid)
    in_time = cards.challenge(cid)
    clock.advance(seconds=119)
    assert cards.check(cid, in_time.id, right(slots, in_time)) is True
    clock.advance(seconds=1)  # 120 s: over
    assert code_of(lambda: cards.check(cid, late.id, right(slots, late))) == invalid

    theirs = cards.challenge(other)
    assert code_of(lambda: cards.check(cid, theirs.id, right(other_slots, theirs))) == invalid
    assert code_of(lambda: cards.verify(cid, theirs.id, right(other_slots, theirs))) == invalid
    assert cards.check(other, theirs.id, right(other_slots, theirs)) is True  # still unused

    for_transfer = cards.challenge(cid, subject="transfer-1")
    answer = right(slots, for_transfer)
    assert code_of(lambda: cards.check(cid, for_transfer.id, answer)) == invalid
    assert code_of(lambda: cards.verify(cid, for_transfer.id, answer)) == invalid
    assert code_of(lambda: cards.check(cid, for_transfer.id, answer, subject="t-2")) == invalid
    assert cards.check(cid, for_transfer.id, answer, subject="transfer-1") is True
    assert code_of(lambda: cards.check(cid, "no-such-challenge", "1234")) == invalid
    assert code_of(lambda: cards.check(cid, "x" * 500, "1234")) == invalid

    # a registration question is not a question for use
    serial = center.security_cards.issue("C001", OPERATOR).serial
    registration = cards.start_registration(cid, serial)
    reg_answer = right(printed(center, serial), registration)
    assert code_of(lambda: cards.check(cid, registration.id, reg_answer)) == invalid
    # invalid challenges compared nothing, so counted nothing
    with center.uow_factory() as uow:
        counter = uow.factors.get(cid, "security_card")
        assert counter is None or counter.failures == 0


def test_five_failures_lock_the_card(center: Center) -> None:
    cid, _, slots = issue_and_register(center)
    cards = center.security_cards

    def wrong(q: CardChallenge) -> str:
        return flip(right(slots, q))

    # a right answer gives the try back and clears earlier failures
    q = cards.challenge(cid)
    assert code_of(lambda: cards.verify(cid, q.id, wrong(q))) == "AUTH_FAILED"
    q = cards.challenge(cid)
    cards.verify(cid, q.id, right(slots, q))
    with center.uow_factory() as uow:
        counter = uow.factors.get(cid, "security_card")
        assert counter is not None and counter.failures == 0

    seen = []
    for _ in range(4):
        q = cards.challenge(cid)
        with pytest.raises(CertCenterError) as refused:
            cards.verify(cid, q.id, wrong(q))
        seen.append((refused.value.code, refused.value.context.get("tries_left")))
    assert seen == [
        ("AUTH_FAILED", 4),
        ("AUTH_FAILED", 3),
        ("AUTH_FAILED", 2),
        ("AUTH_LAST_TRY", None),
    ]
    kept = cards.challenge(cid)  # asked for before the lock
    q = cards.challenge(cid)
    assert code_of(lambda: cards.verify(cid, q.id, wrong(q))) == "SECURITY_CARD_LOCKED"
    # locked: even the right answer is refused, and no new question is asked
    assert code_of(lambda: cards.verify(cid, kept.id, right(slots, kept))) == "SECURITY_CARD_LOCKED"
    assert code_of(lambda: cards.challenge(cid)) == "SECURITY_CARD_LOCKED"
    with center.uow_factory() as uow:
        counter = uow.factors.get(cid, "security_card")
        assert counter is not None and counter.failures == 5

    # the bank replaces the card (it has seen the customer): the lock is released
    replacement = cards.issue("C001", OPERATOR)
    assert replacement.lock_released
    question = cards.start_registration(cid, replacement.serial)
    cards.complete_registration(
        cid, question.id, right(printed(center, replacement.serial), question)
    )
    q = cards.challenge(cid)
    cards.verify(cid, q.id, right(printed(center, replacement.serial), q))


def test_the_digits_are_never_stored_by_the_center(center: Center) -> None:
    cid, serial, slots = issue_and_register(center)
    cards = center.security_cards
    q = cards.challenge(cid)
    cards.verify(cid, q.id, right(slots, q))
    q = cards.challenge(cid)
    assert code_of(lambda: cards.verify(cid, q.id, flip(right(slots, q)))) == "AUTH_FAILED"

    hex64 = re.compile(r"[0-9a-f]{64}")
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    timestamp = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?")

    def scrubbed(row: dict[str, Any]) -> str:
        """The row as text without what may legitimately hold digit runs: ids, digests,
        times and the card's serial."""
        text = json.dumps(row, default=str, ensure_ascii=False)
        for pattern in (hex64, uuid, timestamp):
            text = pattern.sub("", text)
        return text.replace(serial, "")

    with center.engine.connect() as conn:
        card_rows = [dict(r._mapping) for r in conn.execute(select(tables.security_cards))]
        challenge_rows = [dict(r._mapping) for r in conn.execute(select(tables.factor_challenges))]
        audit_rows = [dict(r._mapping) for r in conn.execute(select(tables.audit_log))]
        outbox_rows = [dict(r._mapping) for r in conn.execute(select(tables.outbox))]
    assert card_rows and challenge_rows and audit_rows
    for row in card_rows:
        digests = row["slot_digests"]
        assert all(re.fullmatch(r"[1-9][0-9]?[ab]", k) for k in digests)
        assert all(hex64.fullmatch(v) for v in digests.values())
    mine = next(r for r in card_rows if r["serial"] == serial)
    for n, digits in enumerate(slots, start=1):  # keyed, not a plain hash of the half
        plain = hashlib.sha256(f"{mine['id']}:{n}:a:{digits[:2]}".encode()).hexdigest()
        assert mine["slot_digests"][f"{n}a"] != plain
    for row in challenge_rows:
        assert set(row["data"]) == {"card_id", "serial", "slot_a", "slot_b"}
    everything = [scrubbed(r) for r in card_rows + challenge_rows + audit_rows + outbox_rows]
    for digits in slots:
        for text in everything:
            assert digits not in text


def test_mask_serial() -> None:
    assert mask_serial("1234567890") == "******7890"
    assert mask_serial("123") == "123"
