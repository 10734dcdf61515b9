"""The recipient's guide (docs/verifying-a-batch.md) as a page of the service, /verify.

The page is made from the same Markdown file the repository shows, so an edit to the
guide shows on the page with no second copy to keep. A language other than English has
its translation beside it (``verifying-a-batch.ar.md``); a language without one is
shown the English guide. The placeholder address in the guide's commands
(``https://<…>``) becomes this service's own address.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from petition.config import RESOURCES
from petition.petitions import markdown

GUIDE_FOLDER = RESOURCES / "docs"
GUIDE_NAME = "verifying-a-batch"
PATH = "/verify"

# "https://<the service's address>", "https://<عنوان الخدمة>": whatever the translation says.
_PLACEHOLDER_ADDRESS = re.compile(r"https://<[^>\n]+>")


def guide_path(language: str) -> Path:
    """The guide's file for ``language``: its translation if there is one, else English."""
    translated = GUIDE_FOLDER / f"{GUIDE_NAME}.{language}.md"
    return translated if translated.is_file() else GUIDE_FOLDER / f"{GUIDE_NAME}.md"


def guide_language(language: str) -> str:
    """The language the guide is shown in for a reader of ``language``."""
    return language if guide_path(language).name != f"{GUIDE_NAME}.md" else "en"


def render_guide(language: str, *, base_url: str) -> str:
    """The guide as sanitized HTML, with this service's address in its commands.

    Raises OSError when the guide's file is missing (an installation without it).
    """
    path = guide_path(language)
    return _render(path, path.stat().st_mtime_ns, base_url.rstrip("/"))


@cache
def _render(path: Path, mtime_ns: int, base_url: str) -> str:
    # Keyed by the file's time: an edited guide is read again, an unchanged one never.
    # The guide is ours, but it is rendered like a petition text (raw HTML escaped, then
    # only document markup kept), with tables for "What is in a batch".
    source = _PLACEHOLDER_ADDRESS.sub(base_url, path.read_text(encoding="utf-8"))
    return markdown.render_document(source)
