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
def _parser(*, tables: bool = False) -> MarkdownIt:
    from markdown_it import MarkdownIt

    # Raw HTML in the source is escaped, never passed through (html=False); nh3 then
    # removes anything that is not plain document markup, as a second wall.
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    return parser.enable("table") if tables else parser


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


# Our own documents (the recipient's guide, /verify) also have a title and tables.
_DOCUMENT_TAGS = _ALLOWED_TAGS | {"h1", "table", "thead", "tbody", "tr", "th", "td"}


def render(source: str) -> str:
    """A petition text: an organizer's links are marked nofollow."""
    return _clean(_parser().render(source), _ALLOWED_TAGS, "nofollow noopener noreferrer")


def render_document(source: str) -> str:
    """One of the service's own documents, under the same rules plus a title and tables."""
    return _clean(_parser(tables=True).render(source), _DOCUMENT_TAGS, "noopener noreferrer")


def _clean(html: str, tags: set[str], link_rel: str) -> str:
    import nh3

    return nh3.clean(
        html,
        tags=tags,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=link_rel,
    )
