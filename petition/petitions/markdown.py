"""Petition text: Markdown in, sanitized HTML out.

Pages show the HTML stored when a text is published, so markdown-it and nh3 (about 2 MB)
are imported on the first render, not in every web worker.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # Raw HTML in the source is escaped, never passed through (html=False); nh3 then
    # removes anything that is not plain document markup, as a second wall.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


_ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "blockquote",
    "em",
    "strong",
    "code",
    "pre",
    "a",
}


def render(source: str) -> str:
    import nh3

    html = _parser().render(source)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
