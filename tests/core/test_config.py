"""Settings: defaults, production guard rails, the development secret."""

import pytest
from pydantic import ValidationError

from todo_api.core.config import DEFAULT_DATABASE_URL, ConfigError, Settings


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BETTER_AUTH_SECRET", "ENVIRONMENT", "CORS_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    defaults = settings()
    assert defaults.effective_database_url == DEFAULT_DATABASE_URL
    assert defaults.cors_origins == ["http://localhost:3000"]
    defaults.check_production()  # development: nothing to refuse


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("JWT_ALGORITHM", "HS384")
    configured = settings()
    assert configured.database_url == "postgresql://u@h/db"
    assert configured.cors_origins == ["https://a.example", "https://b.example"]
    assert configured.jwt_algorithm == "HS384"


def test_production_requires_a_database_url() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        settings(environment="production", better_auth_secret="s" * 32).check_production()


def test_production_requires_a_long_secret() -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        settings(
            environment="production", database_url="postgresql://h/db", better_auth_secret="s" * 31
        ).check_production()


def test_production_starts_with_both() -> None:
    settings(
        environment="production", database_url="postgresql://h/db", better_auth_secret="s" * 32
    ).check_production()


def test_asymmetric_algorithms_are_not_accepted_for_the_shared_secret() -> None:
    with pytest.raises(ValueError):
        settings(jwt_algorithm="RS256")


def test_development_secret_is_generated_beside_the_sqlite_file(tmp_path) -> None:
    configured = settings(database_url=f"sqlite:///{tmp_path}/data/todo.db")
    secret = configured.jwt_secret()
    secret_file = tmp_path / "data" / ".todo-api-secret"
    assert secret_file.read_text() == secret
    assert len(secret) >= 32
    assert secret_file.stat().st_mode & 0o777 == 0o600
    # Same secret next time, so tokens survive a restart.
    assert settings(database_url=f"sqlite:///{tmp_path}/data/todo.db").jwt_secret() == secret


def test_configured_secret_wins_over_the_development_one(tmp_path) -> None:
    configured = settings(database_url=f"sqlite:///{tmp_path}/t.db", better_auth_secret="given")
    assert configured.jwt_secret() == "given"
    assert not (tmp_path / ".todo-api-secret").exists()


def test_better_auth_url_switches_jwks_mode_on_with_its_defaults() -> None:
    configured = settings(better_auth_url="https://app.example/")
    assert configured.effective_jwks_url == "https://app.example/api/auth/jwks"
    assert configured.effective_jwt_issuer == "https://app.example"
    assert configured.effective_jwt_audience == "https://app.example"
    assert settings().effective_jwks_url is None


def test_explicit_jwks_url_issuer_and_audience_win() -> None:
    configured = settings(
        better_auth_url="https://app.example",
        jwks_url="https://keys.example/jwks.json",
        jwt_issuer="https://issuer.example",
        jwt_audience="todo-api",
    )
    assert configured.effective_jwks_url == "https://keys.example/jwks.json"
    assert configured.effective_jwt_issuer == "https://issuer.example"
    assert configured.effective_jwt_audience == "todo-api"


def test_jwks_algorithms_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWKS_ALGORITHMS", "EdDSA, ES256")
    assert settings().jwks_algorithms == ["EdDSA", "ES256"]


@pytest.mark.parametrize("algorithm", ["HS256", "none", "RS384"])
def test_jwks_algorithms_outside_better_auths_are_refused(algorithm: str) -> None:
    with pytest.raises(ValidationError):
        settings(jwks_algorithms=[algorithm])


def test_production_jwks_only_needs_no_shared_secret_but_a_secret_key() -> None:
    jwks_only = {
        "environment": "production",
        "database_url": "postgresql://h/db",
        "better_auth_url": "https://app.example",
        "accounts_enabled": False,
    }
    assert not settings(**jwks_only).shared_secret_enabled
    # Tickets and sealed webhook secrets need a key every replica shares: nothing to derive
    # one from, so production refuses to start without it.
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        settings(**jwks_only).check_production()
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        settings(**jwks_only, secret_key="short").check_production()
    settings(**jwks_only, secret_key="k" * 32).check_production()
    with pytest.raises(ConfigError, match="BETTER_AUTH_SECRET"):
        settings(
            environment="production",
            database_url="postgresql://h/db",
            better_auth_url="https://app.example",
        ).check_production()


def test_trusted_proxies_default_to_loopback_only() -> None:
    assert Settings(_env_file=None).forwarded_allow_ips == "127.0.0.1"


@pytest.mark.parametrize(
    ("value", "kept"),
    [("10.0.0.0/8, 172.16.0.0/12", "10.0.0.0/8,172.16.0.0/12"), ("", ""), ("::1", "::1")],
)
def test_trusted_proxies_are_addresses_or_networks(value: str, kept: str) -> None:
    assert Settings(_env_file=None, forwarded_allow_ips=value).forwarded_allow_ips == kept


def test_a_trusted_proxy_that_is_no_address_is_refused() -> None:
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(_env_file=None, forwarded_allow_ips="proxy.example")
