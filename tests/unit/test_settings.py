from __future__ import annotations

import pytest

from milkbot.settings import SHIPPED_CONFIG, SettingsError, load_settings


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MILKBOT_DATABASE_URL", "MILKBOT_PUBLIC_DELAY_MINUTES", "MILKBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///var/milkbot.sqlite"
    assert settings.public_delay_minutes == 60
    assert settings.config == SHIPPED_CONFIG and SHIPPED_CONFIG.exists()


def test_a_short_public_delay_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILKBOT_PUBLIC_DELAY_MINUTES", "59")
    with pytest.raises(SettingsError, match="MILKBOT_PUBLIC_DELAY_MINUTES"):
        load_settings()


def test_secrets_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILKBOT_OPERATOR_TOKEN", "tok-very-secret")
    settings = load_settings()
    assert "tok-very-secret" not in repr(settings)
    assert settings.operator_token is not None
    assert settings.operator_token.get_secret_value() == "tok-very-secret"
