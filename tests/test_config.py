"""Settings: defaults, production guard rails, the development secret."""

import pytest

from todo_api.config import DEFAULT_DATABASE_URL, ConfigError, Settings


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
