"""The shipped forms and calendars are defaults: BPM_FORMS_DIR and BPM_CALENDARS_DIR replace them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import department
from engine.cli.commands import cli
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS, SHIPPED_PROCESSES, EngineConfig

RECEIVABLES = str(SHIPPED_PROCESSES / "receivables_collection.bpmn")


def test_without_settings_the_shipped_folders_of_the_package_are_used() -> None:
    config = EngineConfig.from_env({})
    package = Path(department.__file__).resolve().parent
    assert (config.forms_dir, config.calendars_dir) == (SHIPPED_FORMS, SHIPPED_CALENDARS)
    assert config.forms_dir == package / "forms" and config.calendars_dir == package / "calendars"
    assert (config.forms_dir / "receivables_start.schema.json").is_file()


def test_settings_replace_the_shipped_folders(tmp_path: Path) -> None:
    config = EngineConfig.from_env({"BPM_FORMS_DIR": str(tmp_path / "forms"), "BPM_CALENDARS_DIR": str(tmp_path / "cal")})
    assert (config.forms_dir, config.calendars_dir) == (tmp_path / "forms", tmp_path / "cal")
    # An empty setting is no setting: it must not turn into the working directory.
    assert EngineConfig.from_env({"BPM_FORMS_DIR": "", "BPM_CALENDARS_DIR": ""}).forms_dir == SHIPPED_FORMS


@pytest.fixture
def bpm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `bpm` in process on a fresh SQLite file, with no folder settings inherited from the caller."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'override.sqlite3'}")
    monkeypatch.delenv("BPM_FORMS_DIR", raising=False)
    monkeypatch.delenv("BPM_CALENDARS_DIR", raising=False)
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    assert run("init").exit_code == 0
    return run


def test_forms_come_from_bpm_forms_dir_not_from_the_package(bpm, tmp_path: Path) -> None:
    site_forms = tmp_path / "site-forms"
    site_forms.mkdir()
    for path in SHIPPED_FORMS.iterdir():
        if not path.name.startswith("chase_payment."):
            shutil.copy(path, site_forms / path.name)

    assert bpm("validate", RECEIVABLES).exit_code == 0
    result = bpm("validate", RECEIVABLES, "--json", env={"BPM_FORMS_DIR": str(site_forms)})
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert [p["element_id"] for p in problems] == ["chase_payment"], problems
    assert "chase_payment" in problems[0]["message"]


def test_local_calendar_days_come_from_bpm_calendars_dir(bpm, tmp_path: Path) -> None:
    site_calendars = tmp_path / "site-calendars"
    site_calendars.mkdir()
    (site_calendars / "site.toml").write_text('[[holiday]]\nname = "Site day"\nfrom = 2026-03-12\n', "utf-8")
    site = {"BPM_CALENDARS_DIR": str(site_calendars)}

    def day(env: dict[str, str] | None) -> list[dict[str, str]]:
        days = json.loads(bpm("calendar", "show", "2026", "--json", env=env).output)
        return [d for d in days if d["date"] == "2026-03-12"]

    assert day(None) == []  # a plain Thursday with the shipped calendars
    assert day(site) == [{"date": "2026-03-12", "kind": "holiday", "name": "Site day", "source": "local"}]
    after = json.loads(bpm("calendar", "add-working-days", "2026-03-11", "1", "--json", env=site).output)
    assert after == {"date": "2026-03-13", "provisional": False}
    shipped = json.loads(bpm("calendar", "add-working-days", "2026-03-11", "1", "--json").output)
    assert shipped == {"date": "2026-03-12", "provisional": False}
