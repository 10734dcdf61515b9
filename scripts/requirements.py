"""Write requirements.txt and requirements-dev.txt from pyproject.toml, the one list.

    python -m scripts.requirements           # write both files (make requirements)
    python -m scripts.requirements --check   # exit 1 if either differs (tests do this too)

The files exist for tools and operators that read requirements files; pip installs the
same pins from pyproject.toml (`pip install .`, `pip install --group dev`).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "# Made from pyproject.toml ({table}) by `make requirements`: edit the pins there.\n"


def render(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """File name → the text it must have."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    app = data["project"]["dependencies"]
    dev = data["dependency-groups"]["dev"]
    return {
        "requirements.txt": HEADER.format(table="[project] dependencies")
        + "".join(f"{pin}\n" for pin in app),
        "requirements-dev.txt": HEADER.format(table="[dependency-groups] dev")
        + "-r requirements.txt\n"
        + "".join(f"{pin}\n" for pin in dev),
    }


def differing(root: Path = ROOT) -> list[str]:
    """The requirements files whose text is not what pyproject.toml makes."""
    return [
        name
        for name, text in render(root / "pyproject.toml").items()
        if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != text
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args()
    if args.check:
        stale = differing()
        for name in stale:
            print(f"{name} differs from pyproject.toml: run make requirements", file=sys.stderr)
        return 1 if stale else 0
    for name, text in render().items():
        (ROOT / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
