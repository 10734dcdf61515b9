"""The sign form, shared by the petition page and the widget."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

import pycountry
from babel import Locale
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import html_params

from petition import addresses
from petition.abuse import traps
from petition.config import current_settings
from petition.forms import Form
from petition.i18n import reader_language
from petition.signing.service import Signer

NAME_MAX = 100
# Cells starting with these are run as formulas by spreadsheets (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@")
# Control, format (bidi overrides, zero-width), private-use, surrogate and unassigned.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
_URL = re.compile(
    r"://|\bwww\.|\b[\w-]+\.(?:com|net|org|info|biz|io|co|me|ru|cn|xyz|top|site|online|"
    r"app|link|click|shop|ly|gl|tk|ml|ga|cf|gq)\b",
    re.IGNORECASE,
)


def clean_name(value: str) -> str:
    """The name as stored: NFC, trimmed, inner runs of spaces collapsed.

    Raises ``ValidationError`` with a message for the signer.
    """
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not name:
        raise ValidationError(_l("Please enter your name."))
    if len(name) > NAME_MAX:
        raise ValidationError(_l("Your name must be at most %(max)d characters.", max=NAME_MAX))
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in name):
        raise ValidationError(_l("Your name contains invisible or control characters."))
    if name.startswith(FORMULA_PREFIXES):
        raise ValidationError(_l("Your name must not start with = + - or @."))
    if _URL.search(name):
        raise ValidationError(_l("Your name must not contain a web address."))
    return name


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of today's countries."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


# Hamza forms of alef sort as plain alef, as Arabic dictionaries do.
_SORT_FOLD = str.maketrans("أإآ", "ااا")


@lru_cache(maxsize=32)
def country_options(locale: str) -> str:
    """The ``<option>`` list, with names in the reader's language, rendered once per language.

    Rendering 250 options through WTForms was most of the petition page's time.
    """
    names = Locale.parse(locale).territories
    countries = sorted(
        ((names.get(code, code), code) for code in country_codes()),
        key=lambda c: c[0].casefold().translate(_SORT_FOLD),
    )
    # Outside the f-string: pybabel on Python 3.11 does not look inside f-strings.
    prompt = escape(gettext("Choose your country"))
    options = [f'<option value="">{prompt}</option>']
    options += [f'<option value="{code}">{escape(name)}</option>' for name, code in countries]
    return "".join(options)


class CountrySelect:
    """A ``<select>`` of countries from :func:`country_options`, the chosen one selected."""

    def __call__(self, field: StringField, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        options = country_options(reader_language())
        if field.data in country_codes():
            chosen = f'value="{field.data}"'
            options = options.replace(chosen, f"selected {chosen}", 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")  # noqa: S704


class SignForm(Form):
    name = StringField(_l("Full name"), validators=[DataRequired(_l("Please enter your name."))])
    email = StringField(
        _l("Email address"), validators=[DataRequired(_l("Please enter your email address."))]
    )
    country = StringField(_l("Country"), widget=CountrySelect())
    postcode = StringField(
        _l("Postcode (optional)"),
        filters=[lambda value: value.strip().upper() if value else None],
        validators=[
            Optional(),
            Length(max=16, message=_l("A postcode has at most 16 characters.")),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
                message=_l("Use letters, digits, spaces and dashes."),
            ),
        ],
    )
    public = BooleanField(_l("Show my name on the petition page"))
    updates = BooleanField(_l("Tell me about updates to this petition"))
    # Off unless ticked; one mail, for the first delivered batch that holds the signature.
    delivery_mail = BooleanField(_l("Mail me once when a batch holding my signature is delivered"))
    # Bot traps (petition.abuse.traps): a field hidden from people, which scripts
    # tend to fill, and the signed time the form was shown. Never validated: a
    # caught submission is flagged quietly, not refused.
    website = StringField(_l("Leave this field empty"))
    shown = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.shown.data = traps.form_shown_token(current_app.config["SECRET_KEY"])

    def validate_name(self, field: StringField) -> None:
        field.data = clean_name(field.data or "")

    def validate_email(self, field: StringField) -> None:
        settings = current_settings()
        try:
            field.data = addresses.normalize(
                field.data or "", check_deliverability=settings.email_check_deliverability
            )
        except addresses.InvalidAddress:
            raise ValidationError(_l("Please enter a valid email address.")) from None

    def validate_country(self, field: StringField) -> None:
        if (field.data or "") not in country_codes():
            raise ValidationError(_l("Please choose your country."))


def signer_from(form: SignForm) -> Signer:
    """The validated form as the sign service takes it (page, widget and API alike)."""
    return Signer(
        name=form.name.data,
        email=form.email.data,
        country=form.country.data,
        postcode=form.postcode.data or None,
        is_public=bool(form.public.data),
        has_update_consent=bool(form.updates.data),
        has_delivery_consent=bool(form.delivery_mail.data),
    )
