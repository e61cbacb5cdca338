"""Settings: typed, defaulted, read from the environment, and every one documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import Settings
from models.errors import ConfigError

# The settings table lives in the guide (the README links to it).
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"


def test_every_setting_is_documented_in_the_guide() -> None:
    text = GUIDE.read_text()
    start = text.index("\n## Settings\n")
    end = text.find("\n## ", start + 1)
    table = text[start : end if end >= 0 else None]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M))
    assert set(Settings.model_fields) <= documented, set(Settings.model_fields) - documented
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"


def test_environment_variables_and_overrides() -> None:
    env = {
        "LATENT_EXPLORER_PORT": "9001",
        "LATENT_EXPLORER_MODELS": "a,b",
        "LATENT_EXPLORER_DEVICE": "cpu",
    }
    settings = Settings.from_env(env, host="0.0.0.0")
    assert settings.port == 9001 and settings.models == ("a", "b")
    assert settings.device == "cpu" and settings.host == "0.0.0.0"
    assert Settings.from_env(env, port=1234).port == 1234  # flags beat the environment
    assert Settings.from_env({}).workspace == Path("workspace")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LATENT_EXPLORER_PORT": "http"}, "setting 'port'"),
        ({"LATENT_EXPLORER_DEVICE": "tpu"}, "setting 'device'"),
        ({"LATENT_EXPLORER_MAX_INFLIGHT": "0"}, "setting 'max_inflight'"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
