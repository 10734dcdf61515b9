"""A batch's Merkle leaves, spooled to a file while the batch is written, then stored.

Each row's leaf hash and signature number are kept in blocks of :data:`LEAF_BLOCK`
(a power of two, so each block is a subtree of the batch's tree, see
:class:`petition.export.models.ExportBatchLeaves`). The spool is a file beside the
batch's temporary ZIP: the batch is built on a read-only connection and recorded
afterwards in a short transaction, and a million rows' hashes (40 MB) need not be held
in memory in between.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from petition.export import merkle

LEAF_BLOCK = 4096
_HEADER = struct.Struct(">qqI32s")


@dataclasses.dataclass(frozen=True)
class Block:
    number: int
    first_sequence: int
    last_sequence: int
    root: bytes
    sequences: bytes
    leaf_hashes: bytes


def pack_sequences(sequences: list[int]) -> bytes:
    return struct.pack(f">{len(sequences)}q", *sequences)


def unpack_sequences(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{len(data) // 8}q", data)


def split_hashes(data: bytes) -> list[bytes]:
    return [data[i : i + 32] for i in range(0, len(data), 32)]


class LeafSpool:
    """Hashes each row as a leaf into the batch's tree and spools it to ``path``.

    Used as a context manager: the file is closed however the block ends (an export
    that fails while writing rows closes it too, and the caller deletes it), and is
    completed with its last block only when the block ends normally.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = merkle.TreeBuilder()
        self._file: BinaryIO = path.open("wb")
        self._sequences: list[int] = []
        self._hashes: list[bytes] = []

    def add(self, sequence: int, leaf: bytes) -> None:
        self.add_many([sequence], [leaf])

    def add_many(self, sequences: Sequence[int], leaves: Sequence[bytes]) -> None:
        """The next rows: their signature numbers and their leaves (the row's bytes)."""
        sha256 = hashlib.sha256
        self._sequences.extend(sequences)
        self._hashes.extend([sha256(b"\x00" + leaf).digest() for leaf in leaves])
        while len(self._hashes) >= LEAF_BLOCK:
            self._flush()

    def _flush(self) -> None:
        """Spool one block (the first LEAF_BLOCK hashes, or the last ones at the end)."""
        if self._hashes:
            hashes, self._hashes = self._hashes[:LEAF_BLOCK], self._hashes[LEAF_BLOCK:]
            sequences, self._sequences = (
                self._sequences[:LEAF_BLOCK],
                self._sequences[LEAF_BLOCK:],
            )
            root = merkle.root_of(hashes)
            if len(hashes) == LEAF_BLOCK and LEAF_BLOCK % merkle.BLOCK == 0:
                # A full block is a subtree of the batch's tree: joined once, for both.
                self.tree.add_subtree(LEAF_BLOCK, root)
            else:
                for hashed in hashes:
                    self.tree.add_leaf_hash(hashed)
            header = _HEADER.pack(sequences[0], sequences[-1], len(hashes), root)
            self._file.write(header)
            self._file.write(pack_sequences(sequences))
            self._file.write(b"".join(hashes))

    def close(self) -> None:
        """Spool the last, partial block and close the file."""
        try:
            self._flush()
        finally:
            self._file.close()

    def __enter__(self) -> LeafSpool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            # The batch is being discarded: the last block is not worth writing.
            self._file.close()


def read_blocks(path: Path) -> Iterator[Block]:
    """The blocks a :class:`LeafSpool` wrote, in order."""
    with path.open("rb") as f:
        number = 0
        while header := f.read(_HEADER.size):
            first, last, count, root = _HEADER.unpack(header)
            sequences = f.read(8 * count)
            hashes = f.read(32 * count)
            yield Block(number, first, last, root, sequences, hashes)
            number += 1
