"""The base form: WTForms' own messages in the reader's language, loaded once per language."""

from __future__ import annotations

from flask import Flask
from wtforms import StringField
from wtforms.validators import DataRequired

from petition.forms import Form


class _NameForm(Form):
    # No message of our own: WTForms' default one, from its catalog.
    name = StringField(validators=[DataRequired()])


def _errors(app: Flask, lang: str) -> tuple[list[str], object]:
    with app.test_request_context(f"/?lang={lang}", method="POST", data={"name": ""}):
        form = _NameForm(meta={"csrf": False})
        assert not form.validate()
        return form.name.errors, form.meta.get_translations(form)


def test_wtforms_messages_follow_the_reader_language(app: Flask) -> None:
    assert _errors(app, "en")[0] == ["This field is required."]
    assert _errors(app, "ar")[0] == ["هذا الحقل مطلوب."]


def test_wtforms_catalog_is_loaded_once_per_language(app: Flask) -> None:
    # Parsing the catalog for each form was a tenth of a signature's time.
    first, second = _errors(app, "ar")[1], _errors(app, "ar")[1]
    assert first is second
    assert _errors(app, "en")[1] is not first
