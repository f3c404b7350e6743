"""Peppered argon2id: purpose binding, pepper binding, malformed hashes, policy parameters."""

from __future__ import annotations

import hashlib
import hmac
import statistics
import time
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import VerifyMismatchError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from certcenter.authn.hashing import SecretHasher
from certcenter.config import Policy

FEW = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def policy(**changes: int) -> Policy:
    """The default policy with some values changed (validated, as from configuration)."""
    return Policy.model_validate(changes)


def hmac_pepper(key: bytes) -> Callable[[bytes], bytes]:
    def pepper(data: bytes) -> bytes:
        return hmac.new(key, data, hashlib.sha256).digest()

    return pepper


@pytest.fixture(scope="module")
def hasher() -> SecretHasher:
    return SecretHasher.from_policy(hmac_pepper(b"k" * 32), policy())


@pytest.fixture(scope="module")
def pin_hash(hasher: SecretHasher) -> str:
    return hasher.hash("480213", purpose="pin")


def test_hash_verifies(hasher: SecretHasher, pin_hash: str) -> None:
    assert pin_hash != "480213"
    assert "480213" not in pin_hash
    assert hasher.verify(pin_hash, "480213", purpose="pin") is True
    assert hasher.verify(pin_hash, "480214", purpose="pin") is False


def test_hashes_are_salted(hasher: SecretHasher, pin_hash: str) -> None:
    again = hasher.hash("480213", purpose="pin")
    assert again != pin_hash
    assert hasher.verify(again, "480213", purpose="pin")


def test_purpose_is_bound(hasher: SecretHasher, pin_hash: str) -> None:
    assert hasher.verify(pin_hash, "480213", purpose="pattern") is False
    assert hasher.verify(pin_hash, "480213", purpose="sms-code") is False
    assert hasher.verify(pin_hash, "480213", purpose="pin ") is False


def test_purpose_and_secret_do_not_run_together(hasher: SecretHasher) -> None:
    # "pin" + "1-2" and "pin1" + "-2" must not give the same HMAC input
    encoded = hasher.hash("1-2", purpose="pin")
    assert hasher.verify(encoded, "-2", purpose="pin1") is False


def test_pepper_is_bound(pin_hash: str) -> None:
    other = SecretHasher.from_policy(hmac_pepper(b"o" * 32), policy())
    assert other.verify(pin_hash, "480213", purpose="pin") is False


def test_the_secret_itself_never_reaches_argon2(hasher: SecretHasher, pin_hash: str) -> None:
    # without the pepper, plain argon2id verification of the secret fails
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(pin_hash, "480213")


def test_parameters_follow_the_policy(pin_hash: str) -> None:
    params = extract_parameters(pin_hash)
    assert params.type is Type.ID
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)
    assert pin_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_parameters_follow_a_stronger_policy() -> None:
    stronger_policy = policy(argon2_time_cost=3, argon2_memory_kib=20480, argon2_parallelism=2)
    stronger = SecretHasher.from_policy(hmac_pepper(b"k" * 32), stronger_policy)
    assert stronger.hash("480213", purpose="pin").startswith("$argon2id$v=19$m=20480,t=3,p=2$")


@pytest.mark.parametrize(
    "settings_",
    [{"argon2_memory_kib": 1024}, {"argon2_time_cost": 1}, {"argon2_parallelism": 0}],
)
def test_policy_refuses_weaker_settings(settings_: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate(settings_)


def test_needs_rehash(hasher: SecretHasher, pin_hash: str) -> None:
    assert hasher.needs_rehash(pin_hash) is False
    stronger_policy = policy(argon2_time_cost=3)
    newer = SecretHasher.from_policy(hmac_pepper(b"k" * 32), stronger_policy)
    assert newer.needs_rehash(pin_hash) is True
    assert newer.verify(pin_hash, "480213", purpose="pin") is True  # old hashes still verify
    for malformed in ("", "garbage", "$argon2id$", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"):
        assert hasher.needs_rehash(malformed) is True


def test_malformed_hashes_are_false(hasher: SecretHasher, pin_hash: str) -> None:
    argon2i = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.I)
    salt_and_hash = pin_hash.rsplit("$", 2)
    cases = [
        "",
        "garbage",
        "$argon2id$",
        "$argon2id$v=19$m=19456,t=2,p=1$",
        pin_hash[:-5],
        pin_hash + "AAAA",
        pin_hash.replace("$argon2id$", "$argon2i$"),
        pin_hash.replace("m=19456", "m=4294967295"),  # would allocate 4 TiB: never computed
        pin_hash.replace("t=2", "t=4294967295"),
        pin_hash.replace("p=1", "p=255"),
        "$".join([salt_and_hash[0], "!!!!", salt_and_hash[2]]),
        argon2i.hash(b"whatever"),
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
        "\x00" * 10,
    ]
    for encoded in cases:
        assert hasher.verify(encoded, "480213", purpose="pin") is False, encoded


def test_huge_cost_hashes_are_refused_quickly(hasher: SecretHasher, pin_hash: str) -> None:
    started = time.perf_counter()
    assert not hasher.verify(pin_hash.replace("m=19456", "m=4194304"), "480213", purpose="pin")
    assert not hasher.verify(pin_hash.replace("t=2", "t=1000"), "480213", purpose="pin")
    assert time.perf_counter() - started < 1.0


def test_purpose_must_be_given(hasher: SecretHasher) -> None:
    with pytest.raises(ValueError, match="purpose"):
        hasher.hash("480213", purpose="")
    with pytest.raises(ValueError, match="purpose"):
        hasher.hash("480213", purpose="x" * 256)


def test_pepper_must_return_a_mac() -> None:
    short = SecretHasher.from_policy(lambda data: b"short", policy())
    with pytest.raises(TypeError):
        short.hash("480213", purpose="pin")


def test_constructor_checks_parameters() -> None:
    pepper = hmac_pepper(b"k" * 32)
    for bad in ({"time_cost": 0}, {"parallelism": 0}, {"memory_kib": 7}):
        params = {"time_cost": 1, "memory_kib": 64, "parallelism": 1} | bad
        with pytest.raises(ValueError, match="argon2"):
            SecretHasher(pepper, **params)


@pytest.mark.timing  # median times compared: another worker's load must not fall on one side
def test_dummy_verify_costs_as_much_as_verify(hasher: SecretHasher, pin_hash: str) -> None:
    calls: list[bytes] = []
    key_pepper = hmac_pepper(b"k" * 32)

    def counting(data: bytes) -> bytes:
        calls.append(data)
        return key_pepper(data)

    counted = SecretHasher.from_policy(counting, policy())
    counted.dummy_verify("480213")
    assert len(calls) == 1  # the pepper (the key backend) is asked, as in verify

    def median_seconds(action: Callable[[], object]) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            action()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    real = median_seconds(lambda: hasher.verify(pin_hash, "000000", purpose="pin"))
    dummy = median_seconds(lambda: hasher.dummy_verify("000000"))
    assert dummy > real / 3
    assert dummy < real * 3


@FEW
@given(st.text(max_size=20), st.sampled_from(["pin", "pattern", "sms-code", "code:phone"]))
def test_round_trip(hasher: SecretHasher, secret: str, purpose: str) -> None:
    encoded = hasher.hash(secret, purpose=purpose)
    assert hasher.verify(encoded, secret, purpose=purpose)
    assert not hasher.verify(encoded, secret + "0", purpose=purpose)
    assert not hasher.verify(encoded, secret, purpose=purpose + "x")
    if len(secret) >= 4:
        assert secret not in encoded


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120))
def test_any_encoded_text_is_false_not_an_error(hasher: SecretHasher, encoded: str) -> None:
    assert hasher.verify(encoded, "480213", purpose="pin") is False
    assert hasher.needs_rehash(encoded) is True


@FEW
@given(st.data())
def test_a_changed_character_is_false_not_an_error(
    hasher: SecretHasher, pin_hash: str, data: st.DataObject
) -> None:
    position = data.draw(st.integers(0, len(pin_hash) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != pin_hash[position]))
    changed = pin_hash[:position] + replacement + pin_hash[position + 1 :]
    # Not always False: argon2's base64 decoder may ignore the unused low bits of the last
    # character, so some changes still decode to the same hash. Never an exception, though.
    assert isinstance(hasher.verify(changed, "480213", purpose="pin"), bool)
    assert isinstance(hasher.needs_rehash(changed), bool)


# -- short-lived codes (SMS, 1-won, ARS): keyed HMAC-SHA256, not argon2id


def test_a_code_is_stored_as_a_keyed_digest(hasher: SecretHasher) -> None:
    stored = hasher.code_digest("482913", purpose="code:phone")
    assert stored.startswith("hmac-sha256$") and len(stored) == len("hmac-sha256$") + 64
    assert "482913" not in stored
    plain_sha = hashlib.sha256(b"482913").hexdigest()
    assert plain_sha not in stored and not stored.endswith(plain_sha)
    # keyed: the same code under another pepper is another value; under the same, the same
    other = SecretHasher.from_policy(hmac_pepper(b"j" * 32), policy())
    assert other.code_digest("482913", purpose="code:phone") != stored
    assert hasher.code_digest("482913", purpose="code:phone") == stored


def test_a_right_code_matches_and_a_wrong_one_does_not(hasher: SecretHasher) -> None:
    stored = hasher.code_digest("482913", purpose="code:phone")
    assert hasher.code_matches(stored, "482913", purpose="code:phone") is True
    for wrong in ("482914", "48291", "4829130", "", " 482913"):
        assert hasher.code_matches(stored, wrong, purpose="code:phone") is False
    other = SecretHasher.from_policy(hmac_pepper(b"j" * 32), policy())
    assert other.code_matches(stored, "482913", purpose="code:phone") is False


def test_a_code_digest_is_bound_to_its_purpose(hasher: SecretHasher) -> None:
    stored = hasher.code_digest("482913", purpose="code:phone")
    assert hasher.code_digest("482913", purpose="code:account") != stored
    assert hasher.code_matches(stored, "482913", purpose="code:account") is False
    assert hasher.code_matches(stored, "482913", purpose="ars") is False
    # nor is it the keyed digest used for counting subjects, under any purpose
    assert stored.removeprefix("hmac-sha256$") != hasher.digest("482913", purpose="code:phone")


def test_the_key_of_a_purpose_comes_from_the_pepper() -> None:
    seen: list[bytes] = []

    def pepper(data: bytes) -> bytes:
        seen.append(data)
        return hmac.new(b"k" * 32, data, hashlib.sha256).digest()

    hasher = SecretHasher.from_policy(pepper, policy())
    seen.clear()
    hasher.code_digest("482913", purpose="code:phone")
    # one call to the key backend, for the purpose's key: the code itself never goes there
    assert len(seen) == 1 and b"code:phone" in seen[0] and b"482913" not in seen[0]


def test_codes_are_compared_in_constant_time(
    hasher: SecretHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    stored = hasher.code_digest("482913", purpose="code:phone")
    assert hasher.code_matches(stored, "482913", purpose="code:phone") is True
    assert hasher.code_matches(stored, "000000", purpose="code:phone") is False
    assert len(calls) == 2 and all(a == stored.encode() for a, _ in calls)


def test_codes_cost_no_argon2(hasher: SecretHasher, monkeypatch: pytest.MonkeyPatch) -> None:
    class NoArgon2:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"argon2 ({name}) used for a short-lived code")

    monkeypatch.setattr(hasher, "_hasher", NoArgon2())
    stored = hasher.code_digest("482913", purpose="code:phone")
    assert hasher.code_matches(stored, "482913", purpose="code:phone") is True


def test_a_code_stored_as_argon2id_before_still_verifies(hasher: SecretHasher) -> None:
    legacy = hasher.hash("482913", purpose="code:phone")
    assert legacy.startswith("$argon2id$")
    assert hasher.code_matches(legacy, "482913", purpose="code:phone") is True
    assert hasher.code_matches(legacy, "482914", purpose="code:phone") is False
    assert hasher.code_matches(legacy, "482913", purpose="code:account") is False


@pytest.mark.parametrize(
    "stored",
    ["", "hmac-sha256$", "hmac-sha256$zz", "482913", "$argon2id$garbage", "한국어", "\udcff"],
)
def test_malformed_stored_codes_are_false_not_an_error(hasher: SecretHasher, stored: str) -> None:
    assert hasher.code_matches(stored, "482913", purpose="code:phone") is False


# ---------------------------------------------------------------- pepper generations


class _Generations:
    """Peppers of several generations, the newest current (as GenerationalPepper)."""

    def __init__(self, keys: dict[int, bytes]) -> None:
        self.keys = keys

    def current(self) -> int:
        return max(self.keys)

    def mac(self, generation: int, data: bytes) -> bytes:
        if generation not in self.keys:
            raise LookupError(generation)
        return hmac.new(self.keys[generation], data, hashlib.sha256).digest()


def test_a_hash_names_its_pepper_generation_and_moves_to_the_newest() -> None:
    peppers = _Generations({1: b"a" * 32})
    hasher = SecretHasher.from_policy(peppers, policy())
    first = hasher.hash("480213", purpose="pin")
    assert first.startswith("$argon2id$") and SecretHasher.generation_of(first) == 1
    peppers.keys[2] = b"b" * 32
    assert hasher.verify(first, "480213", purpose="pin") and hasher.needs_rehash(first)
    second = hasher.rehashed(first, "480213", purpose="pin")
    assert second is not None and second.startswith("$pepper-g2$argon2id$v=19$")
    assert hasher.verify(second, "480213", purpose="pin") and not hasher.needs_rehash(second)
    # the pepper is bound: generation 2's hash does not verify under generation 1's pepper
    del peppers.keys[2]
    assert not hasher.verify(second, "480213", purpose="pin")  # unknown generation: False
    assert hasher.needs_rehash(second) is False  # newer than this process knows: left alone


@pytest.mark.parametrize(
    "stored",
    [
        "$pepper-g$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
        "$pepper-g1$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",  # 1 is never marked
        "$pepper-g02$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
        "$pepper-g2$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
        "$pepper-g9999999$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
        "$pepper-g2",
        "pepper-g2$argon2id$",
    ],
)
def test_malformed_generation_markers_are_not_hashes(stored: str) -> None:
    hasher = SecretHasher.from_policy(_Generations({1: b"a" * 32, 2: b"b" * 32}), policy())
    assert SecretHasher.generation_of(stored) is None
    assert hasher.verify(stored, "480213", purpose="pin") is False
    assert hasher.needs_rehash(stored) is True


@FEW
@given(st.text(max_size=80))
def test_any_stored_string_verifies_false_or_true_never_raises(stored: str) -> None:
    hasher = SecretHasher.from_policy(_Generations({1: b"a" * 32, 3: b"c" * 32}), policy())
    assert isinstance(hasher.verify("$pepper-g" + stored, "480213", purpose="pin"), bool)
    assert isinstance(hasher.code_matches("hmac-sha256$g" + stored, "1", purpose="c"), bool)
    assert isinstance(hasher.needs_rehash("$pepper-g" + stored), bool)
