"""The base of every form: Flask-WTF, with WTForms' own messages loaded once per language."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import abort, request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms.meta import DefaultMeta

from petition.i18n import reader_language

# What a browser's <form> sends. Flask-WTF would also read a JSON body into a form,
# where a number or a list reaches validators written for strings (a 500); no page
# of this service posts JSON to a form, and the API parses its own.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class Form(FlaskForm):  # type: ignore[misc]
    class Meta:
        # Flask-WTF parses WTForms' message catalog again for every form it builds
        # (half a millisecond, a tenth of a signature's time). WTForms itself keeps
        # one per language when told the language: the reader's, as Flask-Babel chose.
        cache_translations = True

        @property
        def locales(self) -> list[str]:
            return [reader_language()]

        def get_translations(self, form: Any) -> Any:
            return DefaultMeta.get_translations(self, form)

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            """The submitted fields, which only a form body may carry (else 415)."""
            submitted = formdata is _Auto and form.is_submitted()
            if submitted and request.mimetype and request.mimetype not in FORM_TYPES:
                abort(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    description=f"This form takes {' or '.join(sorted(FORM_TYPES))}, "
                    f"not {request.mimetype}.",
                )
            return FlaskForm.Meta.wrap_formdata(self, form, formdata)
