"""Wheel build hook: the message catalogs, compiled from the .po files at build time.

Compiled catalogs are never committed (.gitignore'd); a wheel built without them would
serve Arabic pages with English forms. Each ``translations/<lang>/LC_MESSAGES/messages.po``
goes into the wheel with the ``messages.mo`` compiled from it, under
``petition/translations/`` where ``petition.config.TRANSLATIONS`` looks when installed.
An editable install uses the checkout's own folder (``make install`` compiles it).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile every catalog into a temporary folder and map both files into the wheel."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        self._compiled = Path(tempfile.mkdtemp(prefix="petition-catalogs-"))
        catalogs = sorted(Path(self.root, "translations").glob("*/LC_MESSAGES/messages.po"))
        if not catalogs:
            raise RuntimeError("no translations/*/LC_MESSAGES/messages.po to compile")
        for po in catalogs:
            language = po.parent.parent.name
            mo = self._compiled / language / "messages.mo"
            mo.parent.mkdir(parents=True)
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source, locale=language))
            inside = f"petition/translations/{language}/LC_MESSAGES"
            build_data["force_include"][str(po)] = f"{inside}/messages.po"
            build_data["force_include"][str(mo)] = f"{inside}/messages.mo"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        compiled = getattr(self, "_compiled", None)
        if compiled is not None:
            shutil.rmtree(compiled, ignore_errors=True)
