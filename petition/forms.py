"""The base of every form: Flask-WTF, with WTForms' own messages loaded once per language."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms.meta import DefaultMeta

from petition.i18n import reader_language


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
