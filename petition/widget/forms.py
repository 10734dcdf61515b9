"""The widget's sign form: the page's fields and rules, a signed token for CSRF."""

from __future__ import annotations

from wtforms import HiddenField

from petition.signing.forms import SignForm


class WidgetSignForm(SignForm):
    """The petition page's form without its session-bound CSRF token.

    A frame on another site gets no cookie, so Flask-WTF's token (kept in the
    session cookie) could never match; the hidden ``token`` field, checked by
    :func:`petition.widget.service.check_form_token`, takes its place.
    """

    class Meta:
        csrf = False

    token = HiddenField()
