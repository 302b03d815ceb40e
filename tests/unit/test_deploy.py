"""``deploy/``: the systemd units and the env file example say what PRODUCT.md and the guide say."""

from __future__ import annotations

import configparser
import re
import shlex

import pytest

from milkbot.settings import Settings
from tests.paths import ROOT, SHARED

DEPLOY = ROOT / "deploy"
UNITS = {"milkbot-handler.service": "run", "milkbot-api.service": "serve"}
ENV_FILE = "/etc/milkbot/milkbot.env"
ENV_EXAMPLE = DEPLOY / "milkbot.env.example"
#: ``NAME=value``, or ``#NAME=value`` for an optional setting left unset.
ENV_LINE = re.compile(r"^(#\s*)?(MILKBOT_[A-Z0-9_]+)=(.*)$")


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text(), source=name)
    return parser


def env_example() -> dict[str, tuple[bool, str]]:
    """name -> (set, value) for every MILKBOT_ line of the example, commented or not."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = ENV_LINE.match(line)
        if match:
            found[match[2]] = (match[1] is None, match[3])
    return found


@pytest.mark.parametrize(("name", "command"), sorted(UNITS.items()))
def test_each_unit_starts_its_command_and_always_restarts(name: str, command: str) -> None:
    service = unit(name)["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/.venv/bin/milkbot") and argv[0].startswith("/")
    assert argv[1] == command
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"] == ENV_FILE
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("name", sorted(UNITS))
def test_each_unit_runs_as_a_dedicated_user_and_is_hardened(name: str) -> None:
    service = unit(name)["Service"]
    assert service["User"] == service["Group"] == "milkbot"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes"
    assert service["PrivateTmp"] == "yes"
    # Under ProtectSystem=strict only the state directory is writable; the process works there.
    assert service["StateDirectory"] == "milkbot"
    assert service["WorkingDirectory"] == "/var/lib/milkbot"


@pytest.mark.parametrize("name", sorted(UNITS))
def test_each_unit_stops_gracefully_with_sigterm(name: str) -> None:
    service = unit(name)["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 10


def test_the_handler_gets_longer_to_finish_its_command_than_the_api() -> None:
    def timeout(name: str) -> int:
        return int(unit(name)["Service"]["TimeoutStopSec"])

    assert timeout("milkbot-handler.service") > timeout("milkbot-api.service")


def test_the_env_example_names_every_setting_in_product_md() -> None:
    named = set(re.findall(r"\bMILKBOT_[A-Z0-9_]*[A-Z0-9]\b", (SHARED / "PRODUCT.md").read_text()))
    assert {"MILKBOT_DATABASE_URL", "MILKBOT_OPERATOR_TOKEN"} <= named  # the pattern reads the table
    assert sorted(named - set(env_example())) == []


def test_the_env_example_names_every_setting_milkbot_reads() -> None:
    read = {f"MILKBOT_{name.upper()}" for name in Settings.model_fields}
    assert sorted(read - set(env_example())) == []


def test_the_env_example_holds_placeholders_not_secrets() -> None:
    example = env_example()
    for name in ("MILKBOT_OPERATOR_TOKEN", "MILKBOT_KALSHI_KEY_ID", "MILKBOT_DATABASE_URL"):
        is_set, value = example[name]
        assert is_set and "<" in value and ">" in value, name
    for name in ("MILKBOT_ALERT_WEBHOOK_URL", "MILKBOT_OPENROUTER_API_KEY", "MILKBOT_TEST_DATABASE_URL"):
        assert not example[name][0], f"{name} is optional and left unset"


def test_the_env_example_asks_for_0600_and_the_service_user() -> None:
    text = ENV_EXAMPLE.read_text()
    assert "chmod 600" in text
    assert f"install -o milkbot -g milkbot -m 0600 deploy/milkbot.env.example {ENV_FILE}" in text


def test_the_env_example_parses_as_an_environment_file() -> None:
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        if line and not line.startswith("#"):
            assert ENV_LINE.match(line), f"line {number} is not NAME=value: {line!r}"
            value = line.split("=", 1)[1]
            assert " " not in value or (value.startswith('"') and value.endswith('"')), number


def test_the_guide_names_files_that_exist() -> None:
    guide = (DEPLOY / "README.md").read_text()
    for path in set(re.findall(r"/opt/milkbot/(deploy/[\w.-]+|config/[\w.-]+)", guide)):
        assert (ROOT / path).exists(), path
    for name in UNITS:
        assert name in guide
    assert ENV_FILE in guide
    for needle in ("pg_dump", "journalctl", "127.0.0.1:8001", "Full (strict)"):
        assert needle in guide
