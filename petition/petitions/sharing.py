"""Share links: plain addresses of each network's own share page, nothing loaded.

A share button from a network (its script, its image, its font) would tell that
network about every reader of the page, signer or not. A plain link tells it
nothing until the reader follows it, and then only what the reader chose to share.
Signal has no web address that starts a message with a text, so it is reached
through "copy the link" (and, with JavaScript, the device's own share sheet).
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote, urlencode


@dataclasses.dataclass(frozen=True)
class ShareLink:
    network: str  # a stable key for CSS and tests: whatsapp, telegram, x, facebook, email
    href: str


def _query(**params: str) -> str:
    # Every reserved character percent-encoded (quote, not quote_plus: "+" would be a
    # literal plus in mailto: bodies).
    return urlencode(params, quote_via=quote, safe="")


def share_links(*, url: str, text: str, subject: str) -> list[ShareLink]:
    """The share addresses for ``url`` with ``text`` (and ``subject`` for email).

    ``url`` is the petition's canonical address (settings.base_url, never the
    request's Host, which anyone can set).
    """
    with_url = f"{text} {url}"
    return [
        ShareLink("whatsapp", "https://wa.me/?" + _query(text=with_url)),
        ShareLink("telegram", "https://t.me/share/url?" + _query(url=url, text=text)),
        ShareLink("x", "https://x.com/intent/tweet?" + _query(text=text, url=url)),
        ShareLink("facebook", "https://www.facebook.com/sharer/sharer.php?" + _query(u=url)),
        ShareLink("email", "mailto:?" + _query(subject=subject, body=f"{text}\n\n{url}")),
    ]
