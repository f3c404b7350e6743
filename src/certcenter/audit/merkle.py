"""Merkle tree hashes over a batch of sealed audit entries, as transparency logs make them
(RFC 6962 §2.1, RFC 9162 §2.1).

    root = tree_hash(leaves)                   # leaves: each entry's hash, 32 bytes
    proof = inclusion_proof(leaves, index)     # the audit path of leaf ``index``
    assert root_from_proof(leaves[index], index, len(leaves), proof) == root

A leaf is hashed as ``SHA-256(0x00 ‖ data)`` and an inner node as ``SHA-256(0x01 ‖ left ‖
right)``; a tree of *n* leaves splits at the largest power of two below *n*. The empty tree's
hash is ``SHA-256()``. A signed checkpoint names the root over the entries it seals, so one
entry is shown to be covered by its audit path alone (``log2(n)`` hashes), and any changed,
added, removed or reordered leaf gives another root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["inclusion_proof", "leaf_hash", "node_hash", "root_from_proof", "tree_hash"]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 §2.1."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hash(leaves[0])
    k = _split(n)
    return node_hash(tree_hash(leaves[:k]), tree_hash(leaves[k:]))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1: the sibling hashes from the leaf up to the root."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(leaves[:k], index), tree_hash(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), tree_hash(leaves[:k])]


def root_from_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root an audit path leads to (RFC 9162 §2.1.3.2); None when the path has the wrong
    length for ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    result = leaf_hash(leaf)
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None
