"""The arrows between the parts of ``petition/`` point one way, as docs/architecture.md says.

The layers are read from the ``layers`` block of docs/architecture.md: core modules at
the bottom, then the domains in order (a domain imports only core and the domains to
its left; domains in one ``{…}`` are side by side and do not import each other), then
the app layer, which may import anything. Every import counts: at module level or
inside a function, ``import x`` or ``from x import y``, relative or absolute. There is
no exception list.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from petition.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "petition"
ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"
MAX_LINES = 500


@dataclass(frozen=True)
class Layers:
    core: frozenset[str]
    # Domain name → its place; domains side by side share one.
    rank: dict[str, int]
    app: frozenset[str]


@cache
def layers() -> Layers:
    """The ``layers`` block of docs/architecture.md, e.g.::

    core     config db …
    domains  audit ← mail ← … ← {widget, api} ← moderation ← admin
    app      __init__ commands worker
    """
    found = re.search(r"^```layers\n(.*?)^```", ARCHITECTURE.read_text(), re.M | re.S)
    assert found, "docs/architecture.md has no ```layers block"
    rows = dict(line.split(maxsplit=1) for line in found.group(1).splitlines() if line.strip())
    rank: dict[str, int] = {}
    for place, step in enumerate(rows["domains"].split("←")):
        for name in step.strip().strip("{}").split(","):
            rank[name.strip()] = place
    return Layers(
        core=frozenset(rows["core"].split()), rank=rank, app=frozenset(rows["app"].split())
    )


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def part_of(module: str) -> str:
    """``petition.signing.counts`` → ``signing``; ``petition`` itself → ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(part: str) -> str:
    known = layers()
    if part in known.core:
        return "core"
    if part in known.app:
        return "app"
    if part in known.rank:
        return "domain"
    raise AssertionError(f"petition/{part} is in no layer of docs/architecture.md")


def imported(path: Path, module: str) -> set[str]:
    """Every ``petition`` module that ``path`` imports, wherever the import stands.

    ``from a import n`` imports the module ``a.n`` when there is one (``from petition
    import worker``), else a name of ``a`` itself (``from petition import create_app``).
    """
    known = modules()
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                source = ".".join([*here, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in known else source)
    return {name for name in found if name in known}


def edges() -> dict[tuple[str, str], list[str]]:
    """(importing part, imported part) → the modules that import across."""
    found: dict[tuple[str, str], list[str]] = {}
    for module, path in modules().items():
        source = part_of(module)
        for target in imported(path, module):
            if part_of(target) != source:
                found.setdefault((source, part_of(target)), []).append(f"{module} → {target}")
    return found


def test_the_layer_list_names_every_part_of_the_package() -> None:
    parts = {part_of(module) for module in modules()}
    listed = layers().core | layers().app | set(layers().rank)
    assert parts - listed == set(), "add these to the layers block of docs/architecture.md"
    assert listed - parts == set(), "the layers block names parts that do not exist"


def test_the_layer_list_is_the_one_decided() -> None:
    # The order itself is a decision: changing it is a change of this test and the docs.
    assert layers().rank == {
        "audit": 0,
        "mail": 1,
        "petitions": 2,
        "abuse": 3,
        "signing": 4,
        "export": 5,
        "widget": 6,
        "api": 6,
        "moderation": 7,
        "updates": 8,
        "admin": 9,
    }


def test_core_imports_no_domain_and_nothing_above_it() -> None:
    wrong = {
        pair: where
        for pair, where in edges().items()
        if layer_of(pair[0]) == "core" and layer_of(pair[1]) != "core"
    }
    assert wrong == {}


def test_a_domain_imports_only_core_and_the_domains_to_its_left() -> None:
    rank = layers().rank
    wrong = {
        pair: where
        for pair, where in edges().items()
        if layer_of(pair[0]) == "domain"
        and (
            layer_of(pair[1]) == "app"
            or (layer_of(pair[1]) == "domain" and rank[pair[1]] >= rank[pair[0]])
        )
    }
    assert wrong == {}


def test_no_cycle_between_domains() -> None:
    graph: dict[str, set[str]] = {}
    for source, target in edges():
        if layer_of(source) == layer_of(target) == "domain":
            graph.setdefault(source, set()).add(target)
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        for following in sorted(graph.get(node, ())):
            if following in path:
                cycles.append([*path[path.index(following) :], following])
            elif len(path) <= len(graph):
                walk(following, [*path, following])

    for start in sorted(graph):
        walk(start, [start])
    assert cycles == []


def test_no_module_is_over_500_lines() -> None:
    long = {
        module: n
        for module, path in modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


# Each module of a part, imported first in a fresh interpreter state: an import that
# only works after some other module was imported first is a hidden cycle.
_IMPORT_EACH_ALONE = """
import importlib, sys, warnings
warnings.simplefilter("error")
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "petition" or m.startswith("petition.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def _parts() -> list[str]:
    return ["core", *sorted(layers().rank, key=lambda part: (layers().rank[part], part))]


@pytest.mark.parametrize("part", _parts())
def test_every_module_imports_alone(part: str) -> None:
    if part == "core":
        names = [f"petition.{name}" for name in sorted(layers().core)]
    else:
        names = sorted(
            (m for m in modules() if m.split(".")[1:2] == [part]),
            # The domain's service first: `python -c "import petition.<domain>.service"`.
            key=lambda m: (m != f"petition.{part}.service", m),
        )
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_ALONE, *names],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
