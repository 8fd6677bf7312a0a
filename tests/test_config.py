"""Settings come from KPCHAIN_* variables, with defaults for the local devnet."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpchain.config import Settings, get_settings


@pytest.mark.usefixtures("clean_settings")
def test_settings_default_to_local_devnet_when_environment_empty() -> None:
    settings = Settings()

    assert settings.rpc_url == "http://127.0.0.1:8545"
    assert (settings.chain_id, settings.network) == (2021, "kp-devnet")
    assert settings.deployments_dir == Path("deployments")
    assert settings.keystore is None
    assert settings.keystore_passphrase is None
    assert settings.keystore_passphrase_file is None
    assert settings.development is False


@pytest.mark.usefixtures("clean_settings")
def test_settings_read_prefixed_environment_and_hide_passphrase(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KPCHAIN_CHAIN_ID", "7102")
    monkeypatch.setenv("KPCHAIN_KEYSTORE", "/run/secrets/keystore.json")
    monkeypatch.setenv("KPCHAIN_KEYSTORE_PASSPHRASE", "s3cret passphrase")
    monkeypatch.setenv("KPCHAIN_DEVELOPMENT", "true")

    settings = get_settings()

    assert settings.chain_id == 7102
    assert settings.keystore == Path("/run/secrets/keystore.json")
    assert settings.keystore_passphrase is not None
    assert settings.keystore_passphrase.get_secret_value() == "s3cret passphrase"
    assert "s3cret" not in repr(settings)
    assert settings.development is True
    assert get_settings() is settings  # cached until cache_clear()


@pytest.mark.usefixtures("clean_settings")
def test_settings_read_the_issue_age_limit_and_the_participants_time_zones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (Settings().max_issue_age_days, Settings().time_zones) == (30, {})
    monkeypatch.setenv("KPCHAIN_MAX_ISSUE_AGE_DAYS", "7")
    monkeypatch.setenv("KPCHAIN_TIME_ZONES", '{"BW": "Africa/Gaborone", "RU": "Europe/Moscow"}')

    settings = Settings()

    assert settings.max_issue_age_days == 7
    assert settings.time_zones == {"BW": "Africa/Gaborone", "RU": "Europe/Moscow"}


@pytest.mark.parametrize(
    ("zones", "message"),
    [
        ('{"bw": "Africa/Gaborone"}', "not a participant code"),
        ('{"BW": "Africa/Nowhere"}', "not an IANA time zone"),
        ('{"BW": "posixrules"}', "not an IANA time zone"),
        ('{"KI": "Pacific/Kiritimati"}', r"-10:00 to \+13:59"),  # +14:00
    ],
)
@pytest.mark.usefixtures("clean_settings")
def test_settings_refuse_a_time_zone_that_names_no_participant_zone_or_offset_out_of_range(
    monkeypatch: pytest.MonkeyPatch, zones: str, message: str
) -> None:
    monkeypatch.setenv("KPCHAIN_TIME_ZONES", zones)

    with pytest.raises(ValueError, match=message):
        Settings()
