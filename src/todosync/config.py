"""Settings: every knob of todosync, read from `TODOSYNC_*` environment variables and `.env`.

Secrets are `SecretStr` and may also come from a file named by `TODOSYNC_<NAME>_FILE`
(Docker and Kubernetes secrets). Validation errors never echo the input, because a database
URL or token may be in it.
"""

from __future__ import annotations

import base64
import enum
import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

__all__ = [
    "DeletePolicy",
    "IntervalMode",
    "NewItemStrategy",
    "RunMode",
    "Settings",
    "SettingsError",
    "is_loopback_host",
    "load_settings",
]

ENV_PREFIX = "TODOSYNC_"
_SECRET_FIELDS = ("external_api_token", "session_secret", "alert_webhook_url", "secret_key")


# A key that signs session cookies: shorter ones can be guessed offline from one cookie.
MIN_SESSION_SECRET_BYTES = 32


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable and never its value."""


class DeletePolicy(enum.StrEnum):
    EDIT_WINS = "edit_wins"
    DELETE_WINS = "delete_wins"


class NewItemStrategy(enum.StrEnum):
    RECREATE = "recreate"
    HOLD = "hold"


class LogLevel(enum.StrEnum):
    """The least level logged (case-insensitive in the environment)."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"

    @classmethod
    def _missing_(cls, value: object) -> LogLevel | None:
        return cls.__members__.get(value.upper()) if isinstance(value, str) else None


class RunMode(enum.StrEnum):
    """Where sync runs happen: in the `serve` process (embedded) or in `todosync worker`
    processes fed by a job queue in PostgreSQL (distributed)."""

    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class IntervalMode(enum.StrEnum):
    FIXED = "fixed"
    ADAPTIVE = "adaptive"


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback addresses, where plain http is acceptable."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _SecretFileSource(PydanticBaseSettingsSource):
    """Reads `TODOSYNC_<SECRET>_FILE`: the file's content, stripped, becomes the secret."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = os.environ.get(f"{ENV_PREFIX}{field_name.upper()}_FILE")
        if field_name not in _SECRET_FIELDS or not path:
            return None, field_name, False
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except OSError as exc:
            raise SettingsError(
                f"{ENV_PREFIX}{field_name.upper()}_FILE: cannot read the file ({exc.strerror})"
            ) from None

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in _SECRET_FIELDS:
            value, _, _ = self.get_field_value(self.settings_cls.model_fields[name], name)
            if value is not None:
                values[name] = value
        return values


class Settings(BaseSettings):
    """All settings; the README's configuration table mirrors this class."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
    )

    database_url: str = "sqlite:///./todosync.db"
    external_api_url: str = "http://127.0.0.1:8100"
    external_api_token: SecretStr | None = None
    session_secret: SecretStr | None = None
    # Fernet keys (comma-separated, newest first) that encrypt the connections' external API
    # tokens in the database; the first encrypts, every one decrypts (see `tenancy.secrets`)
    secret_key: SecretStr | None = None
    # a dashboard session ends this long after its sign-in, however busy it is
    session_lifetime_seconds: float = Field(default=24 * 3600, gt=0)

    log_level: LogLevel = LogLevel.INFO
    log_format: str = Field(default="console", pattern="^(console|json)$")
    debug_log_content: bool = False
    # the in-browser GraphQL IDE at /graphql (off: a production API serves no IDE page)
    graphiql: bool = False

    run_mode: RunMode = RunMode.EMBEDDED
    sync_interval_seconds: float = Field(default=60.0, ge=0)
    sync_interval_mode: IntervalMode = IntervalMode.FIXED
    sync_interval_min_seconds: float = Field(default=10.0, gt=0)
    sync_interval_max_seconds: float = Field(default=600.0, gt=0)
    # sync runs one process carries out at once (each connection's runs stay one at a time)
    max_concurrent_runs: int = Field(default=4, ge=1, le=64)
    lease_ttl_seconds: float = Field(default=15.0, gt=0)
    shutdown_timeout_seconds: float = Field(default=20.0, ge=0)
    # how long `serve` remembers a live API token (so a revoked one works that much longer)
    token_cache_seconds: float = Field(default=5.0, ge=0)
    # failed token checks one client address may make at once, and the time in which that many
    # are allowed again (see `auth.throttle`)
    auth_failure_burst: int = Field(default=10, ge=1)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0)
    # proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (uvicorn's setting)
    forwarded_allow_ips: str = "127.0.0.1"
    # a request's head (request line and headers): largest size, and longest time to arrive
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    mass_delete_min: int = Field(default=10, ge=1)
    mass_delete_percent: float = Field(default=50.0, ge=0, le=100)
    max_entity_attempts: int = Field(default=5, ge=1)
    # The first back-off of an entity whose action failed; doubles with each further failure.
    entity_retry_seconds: float = Field(default=60.0, ge=0)
    delete_policy: DeletePolicy = DeletePolicy.EDIT_WINS
    new_item_strategy: NewItemStrategy = NewItemStrategy.RECREATE
    use_item_create_extension: bool = False
    push_concurrency: int = Field(default=8, ge=1, le=64)
    tombstone_retention_seconds: float = Field(default=7 * 24 * 3600, ge=0)
    run_retention_days: float = Field(default=30, gt=0)
    # history events older than this fold into one baseline per entity (`history.retention`)
    history_retention_days: float = Field(default=90, gt=0)

    external_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    external_read_timeout_seconds: float = Field(default=30.0, gt=0)
    external_write_timeout_seconds: float = Field(default=30.0, gt=0)
    external_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    external_max_attempts: int = Field(default=5, ge=1)
    external_retry_budget_seconds: float = Field(default=60.0, ge=0)
    external_retry_after_cap_seconds: float = Field(default=30.0, ge=0)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)

    # connections with series of their own in /metrics (the oldest): bounds the label's values
    metrics_max_connections: int = Field(default=20, ge=0, le=1000)

    # a secret: webhook URLs (Slack's, say) carry their credential in the path
    alert_webhook_url: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("session_secret")
    @classmethod
    def _long_session_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SESSION_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SESSION_SECRET_BYTES} bytes long")
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        keys = [key.strip() for key in value.get_secret_value().split(",") if key.strip()]
        if not keys or not all(_is_fernet_key(key) for key in keys):
            raise ValueError(
                "must be one or more Fernet keys, comma-separated (make one with "
                "`todosync secrets new-key`)"
            )
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _http_webhook(cls, value: SecretStr | None) -> SecretStr | None:
        parts = urlsplit(value.get_secret_value()) if value is not None else None
        if parts is not None and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("external_api_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("must use https:// unless the host is loopback")
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        del file_secret_settings  # replaced by the *_FILE source
        assert isinstance(env_settings, EnvSettingsSource)
        return (init_settings, env_settings, _SecretFileSource(settings_cls), dotenv_settings)


def _is_fernet_key(key: str) -> bool:
    """32 bytes in URL-safe base64, as `cryptography.fernet.Fernet.generate_key()` makes them."""
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (ValueError, UnicodeEncodeError):
        return False


def load_settings(**overrides: Any) -> Settings:
    """Builds the settings, turning a validation error into one line that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = f"{ENV_PREFIX}{str(first['loc'][0]).upper()}" if first["loc"] else ENV_PREFIX
        # pydantic prefixes a validator's own message with "Value error, ": not for people
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
