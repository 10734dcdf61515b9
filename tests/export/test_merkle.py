"""The Merkle tree is RFC 6962's: roots, audit paths and their check.

The reference here is written straight from RFC 6962 §2.1 (MTH and PATH, recursive,
as the text defines them), not from the module under test. The known roots are the
ones Certificate Transparency's implementations test against; the reference derives
them in ``test_the_reference_gives_the_certificate_transparency_roots``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from petition.export import merkle

# The leaves Certificate Transparency's test suites use (hex), and the roots of the
# trees of their first 1 … 8 leaves.
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]), RFC 6962 §2.1."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _k(len(leaves))
    return hashlib.sha256(b"\x01" + rfc_mth(leaves[:k]) + rfc_mth(leaves[k:])).digest()


def rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 6962 §2.1.1."""
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*rfc_path(m, leaves[:k]), rfc_mth(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), rfc_mth(leaves[:k])]


def leaves_of(n: int) -> list[bytes]:
    return [f"{i},row {i}".encode() for i in range(n)]


def test_the_reference_gives_the_certificate_transparency_roots() -> None:
    leaves = [bytes.fromhex(x) for x in CT_LEAVES]
    assert [rfc_mth(leaves[: n + 1]).hex() for n in range(8)] == CT_ROOTS
    assert rfc_mth([]).hex() == EMPTY_ROOT


@pytest.mark.parametrize("n", range(9))
def test_the_builder_gives_the_known_roots(n: int) -> None:
    leaves = [bytes.fromhex(x) for x in CT_LEAVES[:n]]
    tree = merkle.TreeBuilder()
    for leaf in leaves:
        tree.add(leaf)
    assert tree.size == n
    assert tree.root().hex() == (CT_ROOTS[n - 1] if n else EMPTY_ROOT)
    assert merkle.root_of([merkle.leaf_hash(x) for x in leaves]).hex() == tree.root().hex()


@pytest.mark.parametrize("n", [*range(1, 18), 31, 32, 33, 100, 1000, 1025])
def test_builder_and_root_agree_with_the_rfc_for_any_size(n: int) -> None:
    leaves = leaves_of(n)
    tree = merkle.TreeBuilder()
    for leaf in leaves:
        tree.add(leaf)
    assert tree.root() == rfc_mth(leaves)
    assert merkle.root_of([merkle.leaf_hash(x) for x in leaves]) == rfc_mth(leaves)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 100])
def test_every_audit_path_is_the_rfcs_and_verifies(n: int) -> None:
    leaves = leaves_of(n)
    hashes = [merkle.leaf_hash(x) for x in leaves]
    root = rfc_mth(leaves)
    for m in range(n):
        path = merkle.audit_path(hashes, m)
        assert path == rfc_path(m, leaves)
        assert merkle.verify_inclusion(
            leaf_hash_=hashes[m], index=m, tree_size=n, path=path, root=root
        )


def test_a_path_does_not_verify_for_another_leaf_index_size_or_root() -> None:
    leaves = leaves_of(7)
    hashes = [merkle.leaf_hash(x) for x in leaves]
    root = rfc_mth(leaves)
    path = merkle.audit_path(hashes, 3)
    good = {"leaf_hash_": hashes[3], "index": 3, "tree_size": 7, "path": path, "root": root}
    assert merkle.verify_inclusion(**good)  # type: ignore[arg-type]
    for change in (
        {"leaf_hash_": hashes[4]},
        {"index": 2},
        {"index": 7},
        # Sizes 5 to 8 share this leaf's path shape (the size is bound by the signed
        # manifest, not by the path); smaller or larger trees need another path.
        {"tree_size": 4},
        {"tree_size": 9},
        {"tree_size": 3},
        {"root": rfc_mth(leaves[:6])},
        {"path": path[:-1]},
        {"path": [*path, hashes[0]]},
        {"path": [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]},
    ):
        assert not merkle.verify_inclusion(**(good | change)), change  # type: ignore[arg-type]


def test_a_leaf_outside_the_tree_has_no_path() -> None:
    with pytest.raises(IndexError):
        merkle.audit_path([merkle.leaf_hash(b"x")], 1)


def test_the_spool_joins_each_full_block_once_and_keeps_the_rfc_root(tmp_path: Path) -> None:
    """Two full blocks (added to the tree as subtrees) and a partial one, fed in uneven
    chunks as the export's partitions come: the root is still RFC 6962's."""
    from petition.export import leaves as spool_module

    rows = [f"{n},Signer {n}".encode() for n in range(1, 2 * spool_module.LEAF_BLOCK + 700)]
    spool = spool_module.LeafSpool(tmp_path / "leaves")
    for start in range(0, len(rows), 1999):
        chunk = rows[start : start + 1999]
        spool.add_many(range(start + 1, start + 1 + len(chunk)), chunk)
    spool.close()
    assert spool.tree.size == len(rows)
    assert spool.tree.root() == rfc_mth(rows)
    blocks = list(spool_module.read_blocks(tmp_path / "leaves"))
    assert [b.last_sequence for b in blocks] == [4096, 8192, len(rows)]
    assert blocks[1].root == rfc_mth(rows[4096:8192])


def test_a_subtree_that_does_not_fit_is_refused() -> None:
    tree = merkle.TreeBuilder()
    tree.add(b"one leaf")
    with pytest.raises(ValueError, match="does not fit"):
        tree.add_subtree(merkle.BLOCK, bytes(32))
    with pytest.raises(ValueError, match="does not fit"):
        merkle.TreeBuilder().add_subtree(merkle.BLOCK * 3, bytes(32))
