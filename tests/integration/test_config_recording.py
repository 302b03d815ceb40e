"""The configuration in force is in the ledger: each distinct text recorded once, by its hash."""

from __future__ import annotations

from pathlib import Path

from domain.events import ConfigVersionRecorded, config_version_of
from milkbot.bootstrap import bootstrap, record_config
from milkbot.settings import SHIPPED_CONFIG, Settings


def test_a_config_is_recorded_once_and_again_only_when_it_changes(tmp_path: Path) -> None:
    config_file = tmp_path / "milkbot.toml"
    text = SHIPPED_CONFIG.read_text()
    config_file.write_text(text)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", config=config_file)

    with bootstrap(settings) as app:
        first = record_config(app)
        again = record_config(app)
        config_file.write_text(text.replace("edge_window = 50", "edge_window = 40"))
        changed = record_config(app)
        events = [r.event for r in app.ledger.store.read() if isinstance(r.event, ConfigVersionRecorded)]

    assert first[2] and not again[2] and changed[2]
    assert first[1] == again[1] == config_version_of(text) != changed[1]
    assert [e.config_version for e in events] == [first[1], changed[1]]
    assert events[1].content.count("edge_window = 40") == 1 and changed[0].accountability.edge_window == 40
