"""Settings read once from ``PETITION_*`` environment variables.

Defaults run safely on a laptop: SQLite in ``instance/``, in-memory rate limits,
mail kept in ``instance/mail`` and shown at ``/dev/mail``. Production refuses to
start without a real secret key and a mail URL.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import limits
from flask import Flask, current_app

PACKAGE_DIR = Path(__file__).resolve().parent
# Templates, static files, migrations, catalogs and petition texts: at the root of a
# checkout, or inside the package when installed from the wheel (pyproject.toml maps
# them there), so the app finds them whatever the working directory.
IS_INSTALLED = (PACKAGE_DIR / "templates").is_dir()
RESOURCES = PACKAGE_DIR if IS_INSTALLED else PACKAGE_DIR.parent
TRANSLATIONS = RESOURCES / "translations"
# The checkout (tests, bench, docs); only meaningful when running from one.
PROJECT_ROOT = PACKAGE_DIR.parent
# A checkout keeps its data in instance/; an installed package never writes into
# site-packages, so it uses Flask's place for an installed app's instance folder.
DEFAULT_INSTANCE = (
    Path(sys.prefix) / "var" / "petition-instance" if IS_INSTALLED else PROJECT_ROOT / "instance"
)
# Known on purpose: production refuses to start with it.
DEV_SECRET = "dev-only-secret-key-do-not-use-in-production"  # noqa: S105

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"PETITION_{name} must be true/false, got {raw!r}")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw.strip(), 10)
    except ValueError:
        raise ConfigError(f"PETITION_{name} must be a whole number, got {raw!r}") from None


_LIMIT_FIELDS = (
    "ratelimit_sign_per_ip",
    "ratelimit_sign_per_petition",
    "ratelimit_mail_per_email",
    "ratelimit_api_per_ip",
    "ratelimit_login_per_ip",
    "ratelimit_login_per_account",
    "flag_burst_per_ip",
    "ratelimit_api_sign_per_key",
    "ratelimit_api_sign_per_ip",
)


@dataclasses.dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str = DEV_SECRET
    database_url: str = ""
    # The service's public address: every absolute address it renders starts with it.
    base_url: str = "http://127.0.0.1:5000"
    # In production, host names answered besides base_url's (comma-separated, e.g. a
    # health check's 127.0.0.1); a request for any other host gets 400.
    trusted_hosts: str = ""
    mail_url: str = ""
    mail_from: str = "Petitions <petitions@localhost>"
    instance_path: str = str(DEFAULT_INSTANCE)
    # Rate limits (see README, "Rate limits and flagging"): Flask-Limiter strings,
    # several windows separated by ";". Storage memory:// counts per process.
    ratelimit_storage_uri: str = "memory://"
    ratelimit_key_prefix: str = "petition"
    ratelimit_sign_per_ip: str = "10/minute;100/hour"
    # What one machine takes in (make bench: about 500 signs/s); beyond the mail rate,
    # confirmations wait in the outbox instead of people being refused (README, "Sizing").
    ratelimit_sign_per_petition: str = "30000/minute"
    ratelimit_mail_per_email: str = "3/hour;10/day"
    ratelimit_api_per_ip: str = "300/minute"
    # POST /api/v1/petitions/<slug>/signatures per partner key (on top of the sign limits).
    ratelimit_api_sign_per_key: str = "60/minute;2000/day"
    # ... and per client address: a partner's server, relaying many people.
    ratelimit_api_sign_per_ip: str = "120/minute;5000/day"
    ratelimit_login_per_ip: str = "20/minute;100/hour"
    ratelimit_login_per_account: str = "5/minute;30/hour"
    # Quiet flagging: beyond these a signature is held for a moderator, not refused.
    flag_burst_per_ip: str = "5/10 minutes"
    flag_min_fill_seconds: int = 3
    flag_disposable_domains: bool = True
    flag_blocked_domains: str = ""
    flag_blocked_domains_file: str = ""
    ip_hash_retention_days: int = 30
    proxy_hops: int = 0
    token_ttl_days: int = 7
    email_check_deliverability: bool = False
    fold_interval_seconds: int = 5
    # Each process keeps a rendered petition page, a public API answer and a petition's
    # row this long (0: never), so a surge of readers costs a string replace each and a
    # signature reads nothing before it writes; the count moves every fold anyway.
    page_cache_seconds: int = 2
    mail_max_attempts: int = 8
    # How long a web process or the worker waits to connect to PostgreSQL (or for a
    # pooled connection) before it answers 503 or backs off.
    database_connect_timeout_seconds: int = 5
    # Test each pooled connection before use (one round trip) so a connection that a
    # database restart closed is replaced instead of failing a request.
    database_pool_pre_ping: bool = True
    # SMTP bounds: opening a connection, each command's answer, and one whole message
    # (connection included), so a server that hangs cannot hold the worker.
    mail_connect_timeout_seconds: int = 10
    mail_command_timeout_seconds: int = 30
    mail_send_timeout_seconds: int = 60
    # How long a worker holds a message it took: another worker takes it again only
    # after this, so it must outlast one send and a database outage while recording it.
    mail_lease_seconds: int = 600
    # PEM file of the Ed25519 key that signs export batches; in development an empty
    # value means instance/petition-signing-key.pem, created on first use.
    signing_key_file: str = ""
    # How long a widget form may stay open before its signed token expires.
    widget_token_ttl_minutes: int = 120
    # Organizers' workspace (/admin): session lifetimes and the second factor.
    admin_idle_minutes: int = 30
    admin_session_hours: int = 12
    admin_require_totp: bool = False
    # Where batches made in the browser are kept (default: instance/batches).
    batch_dir: str = ""
    # Updates to signers: at most one per petition in this many days (an admin may
    # override with a reason), and the worker queues at most this many messages of
    # updates per second, so that they never crowd out mail a person waits for.
    updates_min_days: int = 7
    updates_per_second: int = 20
    testing: bool = False

    def __post_init__(self) -> None:
        if self.env not in ("development", "production"):
            raise ConfigError(f"PETITION_ENV must be development or production, got {self.env!r}")
        if not self.database_url:
            path = Path(self.instance_path) / "petition.sqlite3"
            object.__setattr__(self, "database_url", f"sqlite:///{path}")
        if self.is_production:
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ConfigError(
                    "PETITION_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production (python -c 'import secrets; print(secrets.token_hex(32))')"
                )
            if not self.mail_url:
                raise ConfigError("PETITION_MAIL_URL must be set in production (smtp://host:port)")
        if self.proxy_hops < 0:
            raise ConfigError("PETITION_PROXY_HOPS must not be negative")
        if self.token_ttl_days < 1:
            raise ConfigError("PETITION_TOKEN_TTL_DAYS must be at least 1")
        if not self.batch_dir:
            object.__setattr__(self, "batch_dir", str(Path(self.instance_path) / "batches"))
        if self.admin_idle_minutes < 1 or self.admin_session_hours < 1:
            raise ConfigError("PETITION_ADMIN_IDLE_MINUTES and _SESSION_HOURS must be at least 1")
        for name in _LIMIT_FIELDS:
            value = getattr(self, name)
            try:
                if not limits.parse_many(value):
                    raise ValueError(value)
            except ValueError:
                raise ConfigError(
                    f"PETITION_{name.upper()} must be rate limits like '10/minute;100/hour', "
                    f"got {value!r}"
                ) from None
        if self.flag_min_fill_seconds < 0:
            raise ConfigError("PETITION_FLAG_MIN_FILL_SECONDS must not be negative")
        if self.ip_hash_retention_days < 1:
            raise ConfigError("PETITION_IP_HASH_RETENTION_DAYS must be at least 1")
        if not self.flag_blocked_domains_file:
            path = Path(self.instance_path) / "blocked-domains.txt"
            object.__setattr__(self, "flag_blocked_domains_file", str(path))
        for name in (
            "database_connect_timeout_seconds",
            "mail_connect_timeout_seconds",
            "mail_command_timeout_seconds",
            "mail_send_timeout_seconds",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"PETITION_{name.upper()} must be at least 1")
        if self.mail_lease_seconds <= self.mail_send_timeout_seconds:
            raise ConfigError(
                "PETITION_MAIL_LEASE_SECONDS must be longer than PETITION_MAIL_SEND_TIMEOUT_SECONDS"
                " (a message is taken again only when no worker can still be sending it)"
            )
        if self.updates_min_days < 0:
            raise ConfigError("PETITION_UPDATES_MIN_DAYS must not be negative")
        if self.updates_per_second < 1:
            raise ConfigError("PETITION_UPDATES_PER_SECOND must be at least 1")
        if self.widget_token_ttl_minutes < 1:
            raise ConfigError("PETITION_WIDGET_TOKEN_TTL_MINUTES must be at least 1")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``PETITION_*`` variable; junk raises :class:`ConfigError`."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            if field.name == "testing":
                continue
            key = f"PETITION_{field.name.upper()}"
            if key not in environ:
                continue
            raw = environ[key]
            if field.type == "bool":
                values[field.name] = _bool(field.name.upper(), raw)
            elif field.type == "int":
                values[field.name] = _int(field.name.upper(), raw)
            else:
                values[field.name] = raw.strip()
        return cls(**values)  # type: ignore[arg-type]


def current_settings(app: Flask | None = None) -> Settings:
    """The settings of ``app``, by default of the app being served: the one way to read them."""
    settings: Settings = (app or current_app).config["PETITION_SETTINGS"]
    return settings
