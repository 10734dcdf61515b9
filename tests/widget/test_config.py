"""The widget's and the API's settings are parsed as strictly as the others."""

from __future__ import annotations

import pytest

from petition.config import ConfigError, Settings


def test_widget_and_api_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "PETITION_WIDGET_TOKEN_TTL_MINUTES": "30",
            "PETITION_RATELIMIT_API_SIGN_PER_KEY": "10/minute;100/day",
        }
    )
    assert settings.widget_token_ttl_minutes == 30
    assert settings.ratelimit_api_sign_per_key == "10/minute;100/day"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"PETITION_WIDGET_TOKEN_TTL_MINUTES": "0"}, "at least 1"),
        ({"PETITION_WIDGET_TOKEN_TTL_MINUTES": "2h"}, "whole number"),
        ({"PETITION_RATELIMIT_API_SIGN_PER_KEY": "lots"}, "PETITION_RATELIMIT_API_SIGN_PER_KEY"),
        ({"PETITION_RATELIMIT_API_SIGN_PER_IP": ""}, "PETITION_RATELIMIT_API_SIGN_PER_IP"),
    ],
)
def test_junk_stops_start_up(variables: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(variables)
