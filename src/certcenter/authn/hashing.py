"""Peppered argon2id hashing of customer secrets, PIN (간편비밀번호) and pattern (패턴); keyed
HMAC-SHA256 of short-lived codes (SMS, 1-won, ARS).

A stolen database alone is not enough to guess a 6-digit PIN offline: what argon2id hashes
is ``HMAC-SHA256(pepper, purpose ‖ secret)``, and the pepper key never leaves the key
backend. The ``purpose`` ("pin", "pattern", "sms-code", …) is bound into the HMAC input, so
a hash made for one purpose never verifies for another.

    hasher = SecretHasher.from_policy(lambda data: backend.mac("pepper", data), policy)
    device.pin_hash = hasher.hash(pin, purpose="pin")
    ...
    if device is None:
        hasher.dummy_verify(entered)          # same time whether or not the customer exists
    elif not hasher.verify(device.pin_hash, entered, purpose="pin"):
        ...                                   # count the failure
    elif hasher.needs_rehash(device.pin_hash):
        device.pin_hash = hasher.hash(entered, purpose="pin")

The encoded hashes are standard argon2 strings (``$argon2id$v=19$m=19456,t=2,p=1$…``), so
``needs_rehash`` tells when the bank's policy has moved on and the hash should be renewed at
the next successful verification.

A code that lives minutes and allows a handful of tries (인증번호: the SMS code, the 1-won
code, the ARS code) does not need argon2's cost: without the pepper nobody can test a guess
offline, and online the tries are counted. It is stored as ``hmac-sha256$`` and 64 hex digits,
``HMAC-SHA256(key, code)`` under a key of its own purpose that the key backend derives
(``pepper(domain ‖ purpose)``), and compared in constant time; that costs microseconds, not
the ~24 ms of an argon2id hash:

    stored = hasher.code_digest("482913", purpose="code:phone")
    hasher.code_matches(stored, submitted, purpose="code:phone")

Pepper generations (페퍼 세대, :mod:`certcenter.keys.generations`): the pepper can be rotated
(``certcenter keys ceremony rotate pepper``). New hashes are made under the newest
generation and say which one: ``$pepper-g2$argon2id$v=19$…`` (a hash without the marker, as
every hash before rotation existed, is generation 1). A hash of an older generation still
verifies, and :meth:`SecretHasher.needs_rehash` is then true, so the caller stores a new hash
made from the secret it has just verified (:meth:`SecretHasher.rehashed`). Codes are made
under the newest generation too (``hmac-sha256$g2$…``; they live minutes). The keyed
digests of :meth:`SecretHasher.digest` stay under generation 1 for good: they are lookup keys
of values the center does not keep (a phone number's counter), so nothing could make them
again under another pepper; generation 1 is therefore never deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from certcenter.config import Policy

__all__ = ["Peppers", "SecretHasher", "hash_prefix"]

_PREFIX = "$argon2id$"
_DOMAIN = b"certcenter/secret-hash/v1\x00"
_DIGEST_DOMAIN = b"certcenter/keyed-digest/v1\x00"  # never the input of a hash above
_CODE_DOMAIN = b"certcenter/code-key/v1\x00"  # the per-purpose keys of short-lived codes
_TAG_DOMAIN = b"certcenter/tag-key/v1\x00"  # the key of the tags issued values carry
_CODE_PREFIX = "hmac-sha256$"
_LEGACY_CODE_PREFIX = "$argon2"  # codes stored before they were keyed digests
_DUMMY_PURPOSE = "dummy"
_MIN_PEPPERED_BYTES = 16
_GENERATION_MARK = "$pepper-g"  # then the generation's number and the argon2 string
# generation 2 and on are marked (1 never is: one way to write each hash)
_MARKED = r"([2-9]|[1-9][0-9]{1,5})"
_GENERATION_HASH = re.compile(r"\$pepper-g" + _MARKED + r"(\$argon2id\$.*)", re.DOTALL)
_CODE_GENERATION = re.compile(r"g" + _MARKED + r"\$(.*)", re.DOTALL)

# Hashes asking for more than this (or 4x the configured cost, if larger) are treated as
# malformed instead of being computed: a tampered row must not make one verify allocate
# gigabytes or run for minutes.
_MAX_MEMORY_KIB = 1 << 20  # 1 GiB
_MAX_TIME_COST = 32
_MAX_PARALLELISM = 64


@runtime_checkable
class Peppers(Protocol):
    """The pepper's generations (:class:`certcenter.keys.generations.GenerationalPepper`)."""

    def current(self) -> int:
        """The newest generation: what new hashes are made under."""
        ...

    def mac(self, generation: int, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under that generation's pepper (``LookupError`` if there
        is no such generation)."""
        ...


class _OnePepper:
    """A single pepper (generation 1), given as a callable."""

    def __init__(self, mac: Callable[[bytes], bytes]) -> None:
        self._mac = mac

    def current(self) -> int:
        return 1

    def mac(self, generation: int, data: bytes) -> bytes:
        if generation != 1:
            raise LookupError(f"no pepper generation {generation}")
        return self._mac(data)


def hash_prefix(generation: int) -> str:
    """How every PIN or pattern hash made under ``generation`` begins."""
    return _PREFIX if generation == 1 else f"{_GENERATION_MARK}{generation}{_PREFIX}"


class SecretHasher:
    """argon2id over HMAC-SHA256(pepper, secret); the pepper comes from the key backend and
    is passed in as a callable (one generation) or as :class:`Peppers`."""

    def __init__(
        self,
        pepper: Callable[[bytes], bytes] | Peppers,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
    ) -> None:
        if time_cost < 1 or parallelism < 1 or memory_kib < 8 * parallelism:
            raise ValueError("argon2 needs time_cost >= 1, parallelism >= 1, memory >= 8*p KiB")
        self._peppers: Peppers = pepper if isinstance(pepper, Peppers) else _OnePepper(pepper)
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._max_memory_kib = max(_MAX_MEMORY_KIB, 4 * memory_kib)
        self._max_time_cost = max(_MAX_TIME_COST, 4 * time_cost)
        self._max_parallelism = max(_MAX_PARALLELISM, 4 * parallelism)
        # Hash of random bytes nobody knows: what unknown customers are checked against.
        self._dummy_hash = self._hasher.hash(secrets.token_bytes(32))

    @classmethod
    def from_policy(
        cls, pepper: Callable[[bytes], bytes] | Peppers, policy: Policy
    ) -> SecretHasher:
        return cls(
            pepper,
            time_cost=policy.argon2_time_cost,
            memory_kib=policy.argon2_memory_kib,
            parallelism=policy.argon2_parallelism,
        )

    def _peppered(
        self, secret: str, purpose: str, domain: bytes = _DOMAIN, generation: int = 1
    ) -> bytes:
        label = purpose.encode("utf-8")
        if not 1 <= len(label) <= 255:
            raise ValueError("purpose must be 1-255 bytes")
        data = domain + bytes([len(label)]) + label + secret.encode("utf-8", "surrogatepass")
        mac = self._peppers.mac(generation, data)
        if not isinstance(mac, bytes) or len(mac) < _MIN_PEPPERED_BYTES:
            raise TypeError("the pepper function must return a MAC of at least 16 bytes")
        return mac

    def _acceptable(self, encoded: str) -> bool:
        """Well-formed argon2id with costs we are willing to compute."""
        if not isinstance(encoded, str) or not encoded.startswith(_PREFIX):
            return False
        try:
            params = extract_parameters(encoded)
        except (InvalidHashError, ValueError):
            return False
        return (
            params.type is Type.ID
            and params.memory_cost <= self._max_memory_kib
            and params.time_cost <= self._max_time_cost
            and params.parallelism <= self._max_parallelism
        )

    def digest(self, value: str, *, purpose: str) -> str:
        """A keyed digest of ``value`` (64 hex digits): the same value under the same purpose
        always gives the same digest, and without the pepper nobody can tell which value it
        was made from: what a counter keyed by a phone number stores instead of the number
        (``hasher.digest("01020000001", purpose="sms-phone")``)."""
        return self._peppered(value, purpose, _DIGEST_DOMAIN).hex()[:64]

    def code_digest(self, code: str, *, purpose: str) -> str:
        """What is stored for a short-lived code (SMS, 1-won, ARS): ``hmac-sha256$`` and
        HMAC-SHA256 of the code, in hex, under a key of its own ``purpose``: the key backend's
        MAC of the purpose under the pepper, so a digest made for one purpose never matches
        for another, and nobody without the pepper can test a guess against it. Unsalted on
        purpose: a code lives minutes, its tries are counted, and the value is never a lookup
        key. Made under the newest pepper generation (``hmac-sha256$g2$…`` from generation 2
        on). For PINs and patterns use :meth:`hash`."""
        return self._code_digest(code, purpose, self._peppers.current())

    def _code_digest(self, code: str, purpose: str, generation: int) -> str:
        key = self._peppered("", purpose, _CODE_DOMAIN, generation)
        mac = hmac.new(key, code.encode("utf-8", "surrogatepass"), hashlib.sha256)
        marker = "" if generation == 1 else f"g{generation}$"
        return _CODE_PREFIX + marker + mac.hexdigest()

    def tag(self, text: str, *, purpose: str) -> str:
        """A keyed tag of ``text`` that a value the center issues carries, so that the center
        can tell later that it issued it without storing it (a device challenge: its device,
        purpose and expiry): 22 characters, base64url of HMAC-SHA256's first 128 bits under a
        key of ``purpose`` made from the newest pepper generation. Tag only what lives
        minutes: :meth:`tag_matches` knows the newest generation and the one before it."""
        return self._tag(text, purpose, self._peppers.current())

    def _tag(self, text: str, purpose: str, generation: int) -> str:
        key = self._peppered("", purpose, _TAG_DOMAIN, generation)
        mac = hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:16]).decode("ascii").rstrip("=")

    def tag_matches(self, text: str, tag: str, *, purpose: str) -> bool:
        """True if ``tag`` is :meth:`tag` of ``text`` under the newest pepper generation or
        the one before it (a value tagged just before a rotation), compared in constant
        time; False for anything else, never raises."""
        given = tag.encode("utf-8", "surrogatepass")
        current = self._peppers.current()
        for generation in (current, current - 1) if current > 1 else (current,):
            try:
                expected = self._tag(text, purpose, generation)
            except LookupError:  # an older generation retired
                continue
            if hmac.compare_digest(given, expected.encode("ascii")):
                return True
        return False

    def code_matches(self, stored: str, code: str, *, purpose: str) -> bool:
        """True if ``code`` is the code :meth:`code_digest` stored under ``purpose``, compared
        in constant time (``hmac.compare_digest``); False for anything else, never raises.

        A code stored before codes were keyed digests (an argon2id string, ``$argon2…``) is
        still checked with :meth:`verify`, so a code sent just before an upgrade keeps working
        until it expires (minutes); no new code is stored that way."""
        if not isinstance(stored, str):
            self.code_digest(code, purpose=purpose)  # the same work as a real comparison
            return False
        if stored.startswith(_LEGACY_CODE_PREFIX):
            return self.verify(stored, code, purpose=purpose)
        generation = 1
        marked = _CODE_GENERATION.fullmatch(stored.removeprefix(_CODE_PREFIX))
        if stored.startswith(_CODE_PREFIX) and marked is not None:
            generation = int(marked.group(1))
        try:
            expected = self._code_digest(code, purpose, generation)
        except LookupError:  # a generation that does not exist (a tampered row)
            return False
        return hmac.compare_digest(
            stored.encode("utf-8", "surrogatepass"), expected.encode("ascii")
        )

    def hash(self, secret: str, *, purpose: str) -> str:
        """The argon2id encoded string for ``secret`` under ``purpose``, made under the
        newest pepper generation (marked ``$pepper-g<n>`` from generation 2 on)."""
        generation = self._peppers.current()
        encoded = self._hasher.hash(self._peppered(secret, purpose, generation=generation))
        return encoded if generation == 1 else f"{_GENERATION_MARK}{generation}{encoded}"

    @staticmethod
    def generation_of(encoded: str) -> int | None:
        """The pepper generation a stored hash was made under (1 without a marker); None
        for what is not a hash of ours."""
        if not isinstance(encoded, str):
            return None
        if encoded.startswith(_PREFIX):
            return 1
        marked = _GENERATION_HASH.fullmatch(encoded)
        return int(marked.group(1)) if marked is not None else None

    @staticmethod
    def _argon2_part(encoded: str) -> str:
        marked = _GENERATION_HASH.fullmatch(encoded)
        return marked.group(2) if marked is not None else encoded

    def verify(self, encoded: str, secret: str, *, purpose: str) -> bool:
        """True if ``secret`` made ``encoded`` under ``purpose``; False on mismatch or a
        malformed hash (never raises for those). A hash of an older pepper generation
        verifies under that generation's pepper."""
        generation = self.generation_of(encoded)
        try:
            peppered = self._peppered(secret, purpose, generation=generation or 1)
        except LookupError:  # a generation that does not exist (a tampered row)
            self._peppered(secret, purpose)  # the same work as a real verification
            return False
        argon2_part = self._argon2_part(encoded) if generation is not None else encoded
        if generation is None or not self._acceptable(argon2_part):
            return False
        try:
            return self._hasher.verify(argon2_part, peppered)
        except (VerificationError, InvalidHashError):
            return False

    def dummy_verify(self, secret: str) -> None:
        """Spend the time of a :meth:`verify` (pepper and argon2) against a hash nobody can
        match: for unknown customers, so response time does not tell who exists."""
        self.verify(self._dummy_hash, secret, purpose=_DUMMY_PURPOSE)

    def needs_rehash(self, encoded: str) -> bool:
        """True if ``encoded`` was not made with the current parameters or under the newest
        pepper generation (or is not a valid argon2id hash at all)."""
        generation = self.generation_of(encoded)
        if generation is None:
            return True
        if generation < self._peppers.current():
            return True
        try:
            return self._hasher.check_needs_rehash(self._argon2_part(encoded))
        except (InvalidHashError, ValueError):
            return True

    def rehashed(self, encoded: str, secret: str, *, purpose: str) -> str | None:
        """After ``secret`` verified against ``encoded``: a new hash of it when
        :meth:`needs_rehash` says so (an older pepper generation, older argon2 costs), else
        None. Slow like :meth:`hash`: call it outside transactions."""
        if not self.needs_rehash(encoded):
            return None
        return self.hash(secret, purpose=purpose)
