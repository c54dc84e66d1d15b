"""The learner's settings kept in the database: read, saved, and adopted on a machine without the file."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.session.study import Study

__all__ = ["adopt_saved_settings", "save_settings", "saved_settings"]

log = logging.getLogger("quiz.session")


def saved_settings(study: Study) -> dict[str, Any]:
    """The learner's settings stored in the database for this profile."""
    from quiz.store.settings_repo import load_settings

    with study.store.session() as s:
        return load_settings(s, study.profile)


def save_settings(study: Study, values: dict[str, Any]) -> None:
    """Store the learner's settings in the database (the settings file is the config layer's)."""
    from quiz.store.settings_repo import save_settings as store_settings

    with study.store.session() as s:
        store_settings(
            s,
            study.profile,
            {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()},
            study.clock(),
        )


def adopt_saved_settings(study: Study, settings: Settings) -> Settings | None:
    """On a machine without the learner's settings file, take the ones saved in the database: written
    to the file, and returned merged into `settings` (what the command line pinned stays). None: there
    is a file, nothing saved, or what is saved is unusable (logged)."""
    from quiz.config import (
        SettingsError,
        check_learner_settings,
        learner_settings_file,
        save_learner_settings,
    )

    if learner_settings_file(settings.profile).exists():
        return None
    saved = saved_settings(study)
    if not saved:
        return None
    try:
        values = check_learner_settings(saved)
        save_learner_settings(settings.profile, values)
    except (SettingsError, OSError) as exc:
        log.warning("settings in the database unusable: %s", exc)
        return None
    values = {k: v for k, v in values.items() if k not in settings.pinned}
    return replace(settings, **values)
