"""The forms an organizer writes and sends an update with (shown in /admin)."""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from wtforms import Field, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from petition import i18n
from petition.forms import Form
from petition.updates.models import UpdateKind
from petition.updates.service import BODY_MAX, SUBJECT_MAX, DraftSource, TextSource

# As long as /admin's own password fields allow (petition.admin.service.PASSWORD_MAX).
PASSWORD_MAX = 1024
KIND_CHOICES = [
    SelectChoice(UpdateKind.NEWS.value, _l("News from the organizers")),
    SelectChoice(
        UpdateKind.RESPONSE.value,
        _l("Response from the addressee (also shown on the petition page)"),
    ),
]


def _one_line(form: Form, field: Field) -> None:
    if field.data and any(ch in field.data for ch in "\r\n"):
        raise ValidationError(_l("A subject is one line."))


class UpdateFormBase(Form):
    kind = SelectField(_l("Kind of update"), choices=KIND_CHOICES, default=UpdateKind.NEWS.value)
    # Set by update_form() on the class it makes for one petition.
    languages: ClassVar[list[str]] = []

    def subject(self, language: str) -> Field:
        field: Field = self[f"subject_{language}"]
        return field

    def body(self, language: str) -> Field:
        field: Field = self[f"body_{language}"]
        return field

    def validate(self, extra_validators: Any = None) -> bool:
        ok: bool = super().validate(extra_validators)
        for language in self.languages:
            subject, body = self.subject(language), self.body(language)
            if bool((subject.data or "").strip()) != bool((body.data or "").strip()):
                empty = body if (subject.data or "").strip() else subject
                empty.errors.append(_l("Write both the subject and the text, or neither."))
                ok = False
        return ok

    def source(self) -> DraftSource:
        texts = {
            language: TextSource(subject=self.subject(language).data, body=self.body(language).data)
            for language in self.languages
            if (self.subject(language).data or "").strip()
        }
        return DraftSource(kind=UpdateKind(self.kind.data), texts=texts)

    def fill_from(self, kind: str, texts: dict[str, tuple[str, str]]) -> None:
        self.kind.data = kind
        for language, (subject, body) in texts.items():
            if language in self.languages:
                self.subject(language).data = subject
                self.body(language).data = body


def update_form(languages: list[str], **kwargs: Any) -> UpdateFormBase:
    """The form for a petition in these languages (its own first, which is required)."""
    fields: dict[str, Any] = {"languages": languages}
    for position, language in enumerate(languages):
        first = [DataRequired()] if position == 0 else [Optional()]
        name = i18n.language_name(language, i18n.reader_language())
        fields[f"subject_{language}"] = StringField(
            _l("Subject (%(language)s)", language=name),
            validators=[*first, Length(max=SUBJECT_MAX), _one_line],
        )
        fields[f"body_{language}"] = TextAreaField(
            _l("Text (%(language)s, Markdown)", language=name),
            validators=[*first, Length(max=BODY_MAX)],
        )
    form_class = type("UpdateForm", (UpdateFormBase,), fields)
    form: UpdateFormBase = form_class(**kwargs)
    return form


class SendForm(Form):
    """Sending asks for the password again, like a batch or the full export."""

    password = PasswordField(
        _l("Your password, again"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )
    override_reason = StringField(
        _l("Reason to send before the waiting time is over (admins only)"),
        validators=[Optional(), Length(max=500)],
    )
