"""Settings: every knob of the service, read once from the environment (and `.env`)."""

import ipaddress
import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///./todo.db"
BETTER_AUTH_JWKS_PATH = "/api/auth/jwks"
# Better Auth's JWT plugin signs with one of these; HMAC never verifies a JWKS token.
JwksAlgorithm = Literal["EdDSA", "ES256", "ES512", "RS256", "PS256"]
MIN_PRODUCTION_SECRET_LENGTH = 32
SECRET_FILE_NAME = ".todo-api-secret"


class ConfigError(Exception):
    """The configuration cannot work; the message is one line meant for the operator."""


class Settings(BaseSettings):
    """Service configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str | None = None
    better_auth_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 30
    # The `iss` and `aud` of the tokens the service issues itself (sign-in, `todo-api token`).
    token_issuer: Annotated[str, Field(min_length=1)] = "todo-api"
    token_audience: Annotated[str, Field(min_length=1)] = "todo-api"
    # What the frontend's HS* tokens must carry; unset, they need only `sub` and `exp`.
    shared_secret_issuer: str | None = None
    shared_secret_audience: str | None = None
    # Better Auth's JWKS mode: on when either URL is set.
    better_auth_url: str | None = None
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_algorithms: Annotated[list[JwksAlgorithm], NoDecode, Field(min_length=1)] = [
        "EdDSA",
        "ES256",
        "ES512",
        "RS256",
        "PS256",
    ]
    jwks_cache_seconds: Annotated[float, Field(gt=0)] = 3600.0
    jwks_refresh_min_interval_seconds: Annotated[float, Field(ge=0)] = 30.0
    jwks_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    # The service's own accounts (sign-up, sign-in, token).
    accounts_enabled: bool = True
    access_token_expire_seconds: Annotated[int, Field(ge=60)] = 3600
    password_min_length: Annotated[int, Field(ge=8, le=128)] = 10
    login_max_failures_per_account: Annotated[int, Field(ge=1)] = 5
    login_max_failures_per_ip: Annotated[int, Field(ge=1)] = 20
    login_failure_window_seconds: Annotated[float, Field(gt=0)] = 900.0
    # Accounts made per client address (`limits` notation); empty: no limit.
    sign_up_rate_limit: str = "10/hour"
    cors_origins: Annotated[list[str], NoDecode] = ["http://localhost:3000"]
    db_pool_size: Annotated[int, Field(ge=1)] = 20
    # Neon suspends idle computes after 5 minutes: drop idle connections before the server does.
    db_pool_max_idle_seconds: Annotated[float, Field(gt=0)] = 240.0
    db_connect_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    db_statement_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    sql_echo: bool = False
    # FastAPI's native OpenTelemetry; off by default: its checks run on every request.
    opentelemetry: bool = False
    run_migrations_on_startup: bool = True
    # Logging: `text` for people, `json` (one object per line) for log collectors.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Protection against one client exhausting the service or the database.
    max_body_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    # 0 means no limit (the benchmark uses it); anything else is a hard cap on create.
    max_tasks_per_user: Annotated[int, Field(ge=0)] = 10_000
    # Lists one user may have (0: no limit).
    max_lists_per_user: Annotated[int, Field(ge=0)] = 200
    # People a list may be shared with, its owner left out, and its open invitations (0: no
    # limit); invitations one user may accept (`limits` notation; empty: no limit).
    max_members_per_list: Annotated[int, Field(ge=0)] = 50
    max_invitations_per_list: Annotated[int, Field(ge=0)] = 20
    invitation_accept_rate_limit: str = "20/hour"
    # App passwords (HTTP Basic clients, calendar feeds) one user may hold at once (0: no limit).
    max_app_passwords_per_user: Annotated[int, Field(ge=0)] = 50
    # Idempotency keys one user holds at once (within their 24 hours); the oldest go first.
    idempotency_keys_per_user: Annotated[int, Field(ge=1)] = 1000
    rate_limit_enabled: bool = True
    # `limits` notation: "300/minute", "10/second;1000/hour"; empty turns that limit off.
    rate_limit_per_user: str = "300/minute"
    rate_limit_per_ip: str = "1200/minute"
    # Shared rate-limit counters for several replicas; in-process memory when unset.
    redis_url: SecretStr | None = None
    rate_limit_key_prefix: str = "todo-api"
    # The proxies whose X-Forwarded-For names the client (uvicorn's own variable name):
    # addresses or networks, comma-separated; "" trusts none, "*" every peer (never safe when
    # clients can reach the server without the proxy).
    forwarded_allow_ips: str = "127.0.0.1"
    # The request head (request line and headers): larger ones get 431 from the server.
    max_header_bytes: Annotated[int, Field(ge=1024)] = 32 * 1024
    max_headers: Annotated[int, Field(ge=10)] = 100
    # Sync: the change log (off: no /changes, no /events, writes log nothing; the benchmark
    # measures its cost that way), how long it keeps changes, the event streams' keep-alive.
    changes_enabled: bool = True
    changes_retention_days: Annotated[int, Field(ge=1)] = 30
    events_heartbeat_seconds: Annotated[float, Field(gt=0, le=3600)] = 15.0
    # PostgreSQL: the connection that LISTENs for other workers' changes. Neon's `-pooler`
    # host (PgBouncer, transaction mode) cannot LISTEN: point this at the direct host.
    database_direct_url: str | None = None
    # How long shutdown waits for in-flight requests before cutting them off.
    shutdown_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # Background jobs (webhook deliveries, reminders) run in every process unless turned off;
    # the database hands each job to one of them.
    background_jobs: bool = True
    # Webhooks: receivers on loopback, private or link-local addresses are refused unless this
    # is set (a receiver on the same machine or network, in development).
    webhook_allow_private: bool = False
    # Seconds to wait before each retry of a failed delivery; a webhook whose every attempt
    # fails is disabled.
    webhook_retry_delays: Annotated[list[Annotated[float, Field(ge=0)]], NoDecode] = [
        5,
        30,
        120,
        600,
        1800,
        3600,
        7200,
    ]
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    # How often a process looks for work other processes queued (its own wakes it at once).
    jobs_poll_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # Reminder emails go out when both are set: `smtp://user:password@host:587` (STARTTLS
    # when the server offers it) or `smtps://…:465` (TLS from the start).
    smtp_url: SecretStr | None = None
    smtp_from: str | None = None
    # Deliveries to one webhook per minute; beyond it they wait (none is dropped).
    webhook_max_per_minute: Annotated[int, Field(ge=1)] = 600
    # The service's own key: it seals webhook secrets at rest and signs event-stream tickets.
    # Unset, it is derived from BETTER_AUTH_SECRET (or the development secret); every replica
    # needs the same one.
    secret_key: SecretStr | None = None
    # Event streams open at once in one process, per user and per client address (429 beyond).
    events_max_streams_per_user: Annotated[int, Field(ge=1)] = 20
    events_max_streams_per_address: Annotated[int, Field(ge=1)] = 100
    # A connection that has not sent a whole request head within this long is closed.
    request_head_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    # The frontend's address: reminder emails link to the task there.
    app_url: str | None = None
    # A reminder fired this long after it was due is marked late (every process was down).
    reminder_late_seconds: Annotated[float, Field(gt=0)] = 60.0

    @field_validator("cors_origins", "jwks_algorithms", "webhook_retry_delays", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # Operators write `CORS_ORIGINS=https://a.example,https://b.example`.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        # Credentials are allowed, so a wildcard would let any site act as the signed-in user.
        for origin in origins:
            if "*" in origin or origin.endswith("/") or "://" not in origin:
                raise ValueError(
                    f"{origin!r} is not an exact origin like https://app.example (no *, no path)"
                )
        return origins

    @field_validator(
        "rate_limit_per_user",
        "rate_limit_per_ip",
        "sign_up_rate_limit",
        "invitation_accept_rate_limit",
    )
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError as error:
                raise ValueError(f"not a rate limit like '120/minute': {error}") from None
        return value.strip()

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network like 10.0.0.0/8 (or *)"
                ) from None
        return ",".join(entries)

    @field_validator(
        "better_auth_url",
        "jwks_url",
        "jwt_issuer",
        "jwt_audience",
        "shared_secret_issuer",
        "shared_secret_audience",
        "smtp_from",
        "app_url",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @property
    def effective_jwks_url(self) -> str | None:
        """Where Better Auth publishes its public keys; None when JWKS mode is off."""
        if self.jwks_url:
            return self.jwks_url
        if self.better_auth_url:
            return self.better_auth_url.rstrip("/") + BETTER_AUTH_JWKS_PATH
        return None

    @property
    def effective_jwt_issuer(self) -> str | None:
        """The `iss` JWKS tokens must carry: configured, else Better Auth's base URL."""
        return self.jwt_issuer or _base_url(self.better_auth_url)

    @property
    def effective_jwt_audience(self) -> str | None:
        """The `aud` JWKS tokens must carry: configured, else Better Auth's base URL."""
        return self.jwt_audience or _base_url(self.better_auth_url)

    @property
    def shared_secret_enabled(self) -> bool:
        """Whether HS* tokens are verified: always, unless JWKS alone is configured."""
        return (
            self.better_auth_secret is not None
            or self.accounts_enabled
            or self.effective_jwks_url is None
        )

    @property
    def effective_database_url(self) -> str:
        """The database URL as the operator wrote it, or the embedded SQLite default."""
        return self.database_url or DEFAULT_DATABASE_URL

    def check_production(self) -> None:
        """Raise ConfigError when production settings are unsafe."""
        if self.environment != "production":
            return
        if not self.database_url:
            raise ConfigError("ENVIRONMENT=production requires DATABASE_URL to be set")
        secret = self.better_auth_secret.get_secret_value() if self.better_auth_secret else ""
        if self.shared_secret_enabled and len(secret) < MIN_PRODUCTION_SECRET_LENGTH:
            raise ConfigError(
                "ENVIRONMENT=production requires BETTER_AUTH_SECRET of at least "
                f"{MIN_PRODUCTION_SECRET_LENGTH} characters"
            )
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if not self.shared_secret_enabled and len(key) < MIN_PRODUCTION_SECRET_LENGTH:
            # Nothing shared to derive a key from: each replica would make its own.
            raise ConfigError(
                "ENVIRONMENT=production with Better Auth's JWKS alone requires SECRET_KEY of at "
                f"least {MIN_PRODUCTION_SECRET_LENGTH} characters, the same on every replica"
            )

    def service_key(self) -> str:
        """The key the service seals and signs its own things with: SECRET_KEY, else the shared
        token secret."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return self.jwt_secret()

    def jwt_secret(self) -> str:
        """The HS* signing secret: configured, or a development secret kept beside the database."""
        if self.better_auth_secret is not None:
            return self.better_auth_secret.get_secret_value()
        return _development_secret(self.secret_file_path())

    def secret_file_path(self) -> Path:
        """Where the generated development secret lives: next to the SQLite file, else the CWD."""
        try:
            url = make_url(self.effective_database_url)
        except (ArgumentError, ValueError):
            # `todo-api token` needs no database: a URL the server would refuse is no reason
            # to refuse a token.
            return Path.cwd() / SECRET_FILE_NAME
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).resolve().parent / SECRET_FILE_NAME
        return Path.cwd() / SECRET_FILE_NAME


def _base_url(url: str | None) -> str | None:
    return url.rstrip("/") if url else None


def _development_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Exclusive create: if another worker wins the race, everyone reads its secret.
        try:
            with path.open("x") as file:
                file.write(secrets.token_urlsafe(48))
            path.chmod(0o600)
            logger.warning("Generated a development JWT secret in %s", path)
        except FileExistsError:
            pass
    logger.warning(
        "BETTER_AUTH_SECRET is not set: signing and verifying tokens with the development "
        "secret in %s (set BETTER_AUTH_SECRET to share one with your frontend)",
        path,
    )
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
