"""How a view lets :mod:`petition.fastreads` replay its answer with each reader's own parts.

Some answers are the same for every reader but for a token or two: the petition page
for a reader with no session yet (its CSRF token, and the session cookie that holds
it), the widget's sign frame (its form token, naming the site that framed it, and the
form time). The view offers a :class:`Refill`: each such value in its answer, the slot
that stands for it, and how to make the values for the next reader from that
request's WSGI environment alone. fastreads keeps the answer with the slots in place
only when every value was found in it, and fills in fresh values for every reader.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flask import request

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

ENVIRON_KEY = "petition.refill"


@dataclasses.dataclass(frozen=True)
class Refill:
    """The parts of one answer that are each reader's own.

    ``slots`` maps each value as it stands in this answer (body or a header) to its
    slot, a marker no answer holds otherwise (NUL-delimited); ``make`` gives the next
    reader's value for each slot of the body, and for those of the headers it wants
    (a header whose slot it leaves out is not sent), or None: let Flask answer.
    """

    slots: Mapping[str, str]
    make: Callable[[WSGIEnvironment], Mapping[str, str] | None]


def offer(refill: Refill) -> None:
    """Let this request's answer be replayed with fresh values (nothing happens without
    fastreads, as when ``PETITION_PAGE_CACHE_SECONDS`` is 0)."""
    request.environ[ENVIRON_KEY] = refill


def offered(environ: WSGIEnvironment) -> Refill | None:
    """The refill a view offered for this request's answer, if any."""
    refill: Any = environ.get(ENVIRON_KEY)
    return refill if isinstance(refill, Refill) else None
