"""Updates to signers: the organizers' news and the addressee's response.

Above moderation and below admin: it reads signatures (who consented to updates),
writes the outbox through the mail domain, and records every update in the audit
log; /admin's views and the ``petition update`` command call :mod:`.service`. Its
own blueprint carries the signers' unsubscribe pages and gives the petition page
the public responses (a template global, so that signing, below, needs no import).
"""

from flask import Blueprint

bp = Blueprint("updates", __name__)
