"""Settings come from PETITION_* variables, strictly parsed, safe by default."""

from __future__ import annotations

import pytest

from petition.config import ConfigError, Settings


def test_defaults_run_on_a_laptop() -> None:
    settings = Settings.from_env({})
    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("instance/petition.sqlite3")
    assert settings.ratelimit_storage_uri == "memory://"
    assert settings.mail_url == ""


def test_values_are_read_and_parsed() -> None:
    settings = Settings.from_env(
        {
            "PETITION_DATABASE_URL": "postgresql://db/petition",
            "PETITION_TOKEN_TTL_DAYS": "3",
            "PETITION_EMAIL_CHECK_DELIVERABILITY": "yes",
            "PETITION_BASE_URL": "https://sign.example.org",
            "UNRELATED": "x",
        }
    )
    assert settings.database_url == "postgresql://db/petition"
    assert settings.token_ttl_days == 3
    assert settings.email_check_deliverability is True


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"PETITION_TOKEN_TTL_DAYS": "seven"}, "PETITION_TOKEN_TTL_DAYS must be a whole number"),
        ({"PETITION_TOKEN_TTL_DAYS": "0"}, "at least 1"),
        ({"PETITION_EMAIL_CHECK_DELIVERABILITY": "maybe"}, "true/false"),
        ({"PETITION_ENV": "staging"}, "development or production"),
        ({"PETITION_PROXY_HOPS": "-1"}, "must not be negative"),
        ({"PETITION_ENV": "production", "PETITION_MAIL_URL": "smtp://h"}, "PETITION_SECRET_KEY"),
        ({"PETITION_ENV": "production", "PETITION_SECRET_KEY": "s" * 40}, "PETITION_MAIL_URL"),
    ],
)
def test_junk_and_unsafe_production_settings_stop_start_up(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(variables)


def test_production_with_real_secret_and_mail_starts() -> None:
    settings = Settings.from_env(
        {
            "PETITION_ENV": "production",
            "PETITION_SECRET_KEY": "s" * 40,
            "PETITION_MAIL_URL": "smtp://h",
        }
    )
    assert settings.is_production
