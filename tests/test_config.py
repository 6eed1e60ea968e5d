import pytest

from app import create_app
from app.config import SETTINGS, ConfigError, load_settings, settings_help


def test_invalid_setting_names_the_setting_and_what_is_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv("KAKANAI_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("KAKANAI_JOIN_PIN_ATTEMPTS", "five")
    with pytest.raises(ConfigError) as error:
        create_app()
    message = error.value.format_message()
    assert "\n" not in message
    assert message == "KAKANAI_JOIN_PIN_ATTEMPTS: must be a whole number (got 'five')"


def test_unknown_database_scheme_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL: must start with sqlite://"):
        load_settings(tmp_path, {"DATABASE_URL": "mysql://x"})


def test_unknown_setting_in_instance_config_is_refused(tmp_path):
    (tmp_path / "config.py").write_text("JOIN_LINK_MINUTS = 10\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting JOIN_LINK_MINUTS"):
        load_settings(tmp_path, {})


def test_environment_wins_over_instance_config(tmp_path):
    (tmp_path / "config.py").write_text("JOIN_LINK_MINUTES = 10\n", encoding="utf-8")
    assert load_settings(tmp_path, {})["JOIN_LINK_MINUTES"] == 10
    assert load_settings(tmp_path, {"KAKANAI_JOIN_LINK_MINUTES": "20"})["JOIN_LINK_MINUTES"] == 20


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = load_settings(tmp_path, {})["SECRET_KEY"]
    second = load_settings(tmp_path, {})["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgres_url_uses_the_installed_driver(tmp_path):
    url = load_settings(tmp_path, {"DATABASE_URL": "postgresql://u@h/db"})["DATABASE_URL"]
    assert url == "postgresql+psycopg://u@h/db"


def test_every_setting_is_documented_in_the_readme():
    with open("README.md", encoding="utf-8") as f:
        readme = f.read()
    missing = [s.name for s in SETTINGS if f"KAKANAI_{s.name}" not in readme]
    assert missing == []
    # The table is generated: paste settings_help() into the README.
    assert settings_help() in readme
