"""RFC 6962 Merkle trees over a batch's rows: the root, audit paths, their check.

The tree is the one of RFC 6962 §2.1 (also RFC 9162 §2.1): a leaf's hash is
``SHA-256(0x00 ‖ leaf)``, a node's ``SHA-256(0x01 ‖ left ‖ right)``, and a list of n
leaves splits at the largest power of two smaller than n. The leaves of a batch are
the data rows of ``signatures.csv`` in file order, each without its line terminator,
so that anyone can recompute the root from the CSV alone.

:class:`TreeBuilder` takes the leaves in order and keeps only the roots of the perfect
subtrees seen so far (at most log2(n) of them) and the hashes of one unfinished block,
so a batch of millions costs two hashes per row and no list. :func:`audit_path` and :func:`root_of` work on node
hashes (leaf hashes, or the roots of aligned blocks of a power-of-two size, which are
subtrees of the same tree), and :func:`verify_inclusion` is RFC 9162 §2.1.3.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

ALGORITHM = "rfc6962-sha256"
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def empty_root() -> bytes:
    """The root of a tree of no leaves: the hash of the empty string (RFC 6962 §2.1)."""
    return hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """The root over node hashes already made (leaf hashes, or aligned subtree roots)."""
    if not hashes:
        return empty_root()
    level = list(hashes)
    # Pairing left to right, level by level, and carrying an odd last node up
    # unchanged gives the same tree as RFC 6962's split at the largest power of two.
    sha256 = hashlib.sha256
    while len(level) > 1:
        # node_hash inlined: a batch of a million joins a million pairs.
        paired = [
            sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def audit_path(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(index, D[n]) over node hashes, the leaf's sibling first.

    Raises IndexError for an index outside the tree.
    """
    if not 0 <= index < len(hashes):
        raise IndexError(f"leaf {index} is not in a tree of {len(hashes)}")
    path: list[bytes] = []
    low, high = 0, len(hashes)
    # Walk down from the root, noting the sibling subtree at each split; the path
    # lists them from the leaf upwards.
    while high - low > 1:
        k = _split(high - low)
        if index < low + k:
            path.append(root_of(hashes[low + k : high]))
            high = low + k
        else:
            path.append(root_of(hashes[low : low + k]))
            low += k
    path.reverse()
    return path


def verify_inclusion(
    *, leaf_hash_: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``path`` proves the leaf at ``index`` is in the tree with ``root``.

    RFC 9162 §2.1.3.2, step by step.
    """
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash_
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# Leaves are hashed and joined a block at a time: a list comprehension and a level-by-
# level pairing cost a fraction of pushing every leaf through a stack in Python. A block
# of a power-of-two size starting at a multiple of its size is a subtree of the tree.
BLOCK = 1024


class TreeBuilder:
    """The root of a tree built one leaf at a time, in memory that grows as log2(n)."""

    def __init__(self) -> None:
        # Roots of the perfect subtrees so far, largest first, with their sizes.
        self._stack: list[tuple[int, bytes]] = []
        self._pending: list[bytes] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        """Add the next leaf (its bytes)."""
        self.add_leaf_hash(hashlib.sha256(_LEAF + leaf).digest())

    def add_leaf_hash(self, hashed: bytes) -> None:
        """Add the next leaf by its leaf hash (:func:`leaf_hash`)."""
        self._pending.append(hashed)
        self.size += 1
        if len(self._pending) == BLOCK:
            self._push(BLOCK, root_of(self._pending), self._stack)
            self._pending = []

    def add_many(self, leaves: Sequence[bytes]) -> None:
        """Add the next leaves, in order."""
        pending = self._pending
        pending.extend([hashlib.sha256(_LEAF + leaf).digest() for leaf in leaves])
        self.size += len(leaves)
        if len(pending) >= BLOCK:
            full = len(pending) - len(pending) % BLOCK
            for start in range(0, full, BLOCK):
                self._push(BLOCK, root_of(pending[start : start + BLOCK]), self._stack)
            self._pending = pending[full:]

    def add_subtree(self, size: int, node: bytes) -> None:
        """Add the next ``size`` leaves by the root of their perfect subtree (``size`` a
        power of two, at least :data:`BLOCK`, the leaves so far a multiple of it): a
        caller that already joined them saves doing it twice."""
        if size < BLOCK or size & (size - 1) or self._pending or self.size % size:
            raise ValueError(f"a subtree of {size} leaves does not fit after {self.size}")
        self._push(size, node, self._stack)
        self.size += size

    @staticmethod
    def _push(size: int, node: bytes, stack: list[tuple[int, bytes]]) -> None:
        while stack and stack[-1][0] == size:
            _, left = stack.pop()
            node = node_hash(left, node)
            size *= 2
        stack.append((size, node))

    def root(self) -> bytes:
        """The root of the leaves added so far (RFC 6962's MTH)."""
        stack = list(self._stack)
        # The leaves of an unfinished block, as perfect subtrees, largest first.
        start, rest = 0, len(self._pending)
        while rest:
            size = 1 << (rest.bit_length() - 1)
            self._push(size, root_of(self._pending[start : start + size]), stack)
            start, rest = start + size, rest - size
        if not stack:
            return empty_root()
        # The leaves split into perfect subtrees of decreasing size; RFC 6962's tree
        # joins them from the right: MTH = H(s0, H(s1, … H(s_{k-1}, s_k))).
        node = stack[-1][1]
        for _, left in reversed(stack[:-1]):
            node = node_hash(left, node)
        return node
