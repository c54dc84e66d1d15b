"""Settings: defaults, the learner's config file, environment and command line, in that order."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from quiz import paths
from quiz.core.scheduling import SchedulingSettings

DEVICES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class Settings:
    db_url: str = ""
    profile: str = "default"
    device: str = "auto"
    worker_idle_s: float = 600.0  # a framework worker unused this long exits (0: never); runner/client.py
    backends: tuple[str, ...] = ("torch", "tensorflow", "mxnet")
    new_per_day: int = 20
    desired_retention: float = 0.9
    theme: str = "textual-dark"
    deck_dirs: tuple[str, ...] = field(default_factory=tuple)

    def scheduling(self) -> SchedulingSettings:
        return SchedulingSettings(desired_retention=self.desired_retention, new_per_day=self.new_per_day)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_file() -> Path:
    return paths.config_dir() / "config.toml"


class SettingsError(ValueError):
    pass


def load_settings(
    *, db_url: str | None = None, device: str | None = None, profile: str | None = None
) -> Settings:
    """Defaults < config.toml < QUIZ_DB / QUIZ_PROFILE < explicit arguments (from the CLI)."""
    settings = Settings()
    path = config_file()
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise SettingsError(f"{path}: {exc}") from None
        known = {f.name for f in fields(Settings)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        settings = replace(settings, **values)  # type: ignore[arg-type]
    if os.environ.get("QUIZ_DB"):
        settings = replace(settings, db_url=os.environ["QUIZ_DB"])
    if os.environ.get("QUIZ_PROFILE"):
        settings = replace(settings, profile=os.environ["QUIZ_PROFILE"])
    if db_url:
        settings = replace(settings, db_url=db_url)
    if device:
        settings = replace(settings, device=device)
    if profile:
        settings = replace(settings, profile=profile)
    if not settings.db_url:
        settings = replace(settings, db_url=paths.default_db_url())
    if settings.device not in DEVICES:
        raise SettingsError(f"device must be one of {', '.join(DEVICES)}, not {settings.device!r}")
    return settings
