"""Forms of the organizers' workspace; every one carries a CSRF token."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from petition.abuse.models import FlagReason
from petition.admin.models import UserRole
from petition.admin.service import PASSWORD_MAX, PASSWORD_MIN
from petition.forms import Form
from petition.i18n import LANGUAGES, lazy_labels
from petition.petitions import rules
from petition.petitions.models import PetitionStatus
from petition.petitions.service import PetitionSource
from petition.widget.service import InvalidOrigin, normalize_origin

BODY_MAX = rules.BODY_MAX
IMPORT_MAX = 60 * 1024


class LoginForm(Form):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])


class CodeForm(Form):
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=12)]
    )


class PasswordConfirmForm(Form):
    """For actions that ask for the password again (batches, full exports, 2FA off)."""

    password = PasswordField(
        _l("Your password, again"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )


class ButtonForm(Form):
    """A form that is only a button (logout, withdraw): the CSRF token is the point."""


def _rule(problem: str | None) -> None:
    if problem is not None:
        raise ValidationError(problem)


class PetitionForm(Form):
    """A petition's fields, checked by :mod:`petition.petitions.rules` like every import."""

    title = StringField(_l("Title"), validators=[DataRequired()])
    slug = StringField(
        _l("Web address"),
        description=_l("Lower-case letters, digits and hyphens, e.g. save-the-river."),
        validators=[DataRequired()],
    )
    addressed_to = StringField(_l("Addressed to"))
    body = TextAreaField(_l("Text (Markdown)"), validators=[DataRequired()])
    goal = IntegerField(_l("Goal (number of signatures)"), validators=[Optional()])
    closes_on = DateField(_l("Closing date"), validators=[Optional()])
    embed_mode = SelectField(
        _l("Which websites may show the petition's widget"),
        choices=[
            SelectChoice("any", _l("Any website (the widget spreads the petition)")),
            SelectChoice("listed", _l("Only the websites listed below")),
            SelectChoice("none", _l("No website")),
        ],
        default="any",
    )
    embed_origins = TextAreaField(
        _l("Websites allowed to embed the widget"),
        description=_l("One per line, as https://example.org"),
        validators=[Optional(), Length(max=5000)],
    )
    language = SelectField(
        _l("Language of the text"),
        choices=[SelectChoice(code, label) for code, label in LANGUAGES.items()],
        default="en",
    )

    def validate_slug(self, field: Any) -> None:
        _rule(rules.slug_problem(field.data or ""))

    def validate_title(self, field: Any) -> None:
        # The text as sent: a line break in it is refused, not folded into a space.
        _rule(rules.line_problem(field.data or "", max_length=rules.TITLE_MAX, required=True))

    def validate_addressed_to(self, field: Any) -> None:
        _rule(rules.line_problem(field.data or "", max_length=rules.ADDRESSED_TO_MAX))

    def validate_body(self, field: Any) -> None:
        _rule(rules.body_problem(field.data or ""))

    def validate_goal(self, field: Any) -> None:
        _rule(rules.goal_problem(field.data))

    def validate_language(self, field: Any) -> None:
        _rule(rules.language_problem(field.data or ""))

    def validate_closes_on(self, field: Any) -> None:
        if field.data is not None and field.data <= dt.datetime.now(dt.UTC).date():
            raise ValidationError(_l("The closing date must be in the future."))

    def validate_embed_mode(self, field: Any) -> None:
        # Here rather than on the list itself, which Optional() skips when empty.
        if field.data == "listed" and not (self.embed_origins.data or "").split():
            raise ValidationError(_l("List at least one website, or choose another option."))

    def validate_embed_origins(self, field: Any) -> None:
        if self.embed_mode.data != "listed":
            return
        for line in (field.data or "").split():
            try:
                normalize_origin(line)
            except InvalidOrigin:
                raise ValidationError(
                    _l("%(value)s is not a website address like https://example.org", value=line)
                ) from None

    def embed_value(self) -> list[str] | None:
        """The sites allowed to frame the widget: None for any, [] for none."""
        if self.embed_mode.data == "any":
            return None
        if self.embed_mode.data == "none":
            return []
        return (self.embed_origins.data or "").split()

    def fill_embed(self, origins: list[str] | None) -> None:
        if origins is None:
            self.embed_mode.data = "any"
        elif not origins:
            self.embed_mode.data = "none"
        else:
            self.embed_mode.data = "listed"
            self.embed_origins.data = "\n".join(origins)

    def source(self) -> PetitionSource:
        closes_on: dt.date | None = self.closes_on.data
        return PetitionSource(
            slug=self.slug.data,
            title=" ".join(self.title.data.split()),
            body=self.body.data.replace("\r\n", "\n").strip() + "\n",
            language=self.language.data,
            addressed_to=(self.addressed_to.data or "").strip(),
            goal=self.goal.data,
            closes_at=(
                dt.datetime.combine(closes_on, dt.time(), tzinfo=dt.UTC) if closes_on else None
            ),
        )

    def fill_from(self, source: PetitionSource) -> None:
        self.title.data = source.title
        self.slug.data = source.slug
        self.addressed_to.data = source.addressed_to
        self.body.data = source.body
        self.goal.data = source.goal
        self.closes_on.data = source.closes_at.date() if source.closes_at else None
        self.language.data = source.language


class ImportForm(Form):
    file = FileField(_l("Petition file (.md)"), validators=[FileRequired()])


class StatusForm(Form):
    to = HiddenField(
        validators=[
            InputRequired(),
            Regexp("^({})$".format("|".join(s.value for s in PetitionStatus))),
        ]
    )


class SearchForm(Form):
    """Looking up a signature by email: a POST, so that the address is in no URL."""

    email = EmailField(
        _l("Signer's email address"),
        validators=[DataRequired(), Length(max=320), Email(check_deliverability=False)],
    )


class NameForm(Form):
    name = StringField(_l("Corrected name"), validators=[DataRequired(), Length(max=100)])


class UserForm(Form):
    email = EmailField(
        _l("Email address"), validators=[DataRequired(), Email(check_deliverability=False)]
    )
    role = SelectField(
        _l("Role"), choices=[SelectChoice(r.value, lazy_labels("user_role")[r]) for r in UserRole]
    )
    password = PasswordField(
        _l("First password (tell them to change it)"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
    )


class ActiveForm(Form):
    active = HiddenField(validators=[InputRequired(), Regexp("^[01]$")])


class GrantForm(Form):
    slug = StringField(_l("Petition web address"), validators=[DataRequired(), Length(max=100)])


class NewPasswordForm(Form):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
    )


WINDOWS = [
    SelectChoice("", _l("Any time")),
    SelectChoice("1", _l("Last hour (what is unusual now)")),
    SelectChoice("24", _l("Last 24 hours")),
    SelectChoice("168", _l("Last 7 days")),
]


class FlagFilterForm(Form):
    """Which held signatures to look at; a GET, it changes nothing."""

    class Meta:
        csrf = False

    reason = SelectField(
        _l("Flag reason"),
        choices=[SelectChoice("", _l("Any reason"))]
        + [SelectChoice(r.value, lazy_labels("flag_reason")[r]) for r in FlagReason],
        default="",
    )
    domain = StringField(_l("Email domain"), validators=[Optional(), Length(max=255)])
    ip_hash = StringField(
        _l("Address hash (or its start)"), validators=[Optional(), Length(max=64)]
    )
    hours = SelectField(_l("Signed in"), choices=WINDOWS, default="")


class ModerateForm(Form):
    """Release or invalidate exactly the selection that was previewed."""

    reason_filter = HiddenField()
    domain = HiddenField()
    ip_hash = HiddenField()
    since = HiddenField()
    expected = HiddenField(validators=[InputRequired(), Regexp(r"^\d+$")])
    action = HiddenField(validators=[InputRequired(), Regexp("^(release|invalidate)$")])
    why = TextAreaField(
        _l("Why (kept in the audit log)"), validators=[DataRequired(), Length(max=1000)]
    )


class ReinstateForm(Form):
    """Undo one release or invalidation of the audit log."""

    why = TextAreaField(
        _l("Why undo it (kept in the audit log)"),
        validators=[DataRequired(), Length(max=1000)],
    )


class DeliveredForm(Form):
    to = StringField(
        _l("Delivered to (whom, and how)"), validators=[DataRequired(), Length(max=300)]
    )


class FullExportForm(PasswordConfirmForm):
    fmt = SelectField(
        _l("Format"),
        choices=[SelectChoice("csv", "CSV (spreadsheets)"), SelectChoice("json", "JSON")],
        default="csv",
    )
