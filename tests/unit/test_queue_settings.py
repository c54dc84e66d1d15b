"""The queue and scheduling settings: defaults that keep today's behaviour, validation, saved per profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from quiz.config import (
    Settings,
    SettingsError,
    check_learner_settings,
    config_file,
    load_settings,
    read_learner_settings,
    save_learner_settings,
)


def test_defaults_keep_todays_queue() -> None:
    s = Settings()
    assert (s.reviews_per_day, s.new_card_order, s.bury_siblings, s.fsrs_parameters) == (
        None,
        "by-topic",
        False,
        (),
    )
    assert s.scheduling().parameters == ()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"reviews_per_day": -1}, "reviews per day"),
        ({"reviews_per_day": True}, "reviews per day"),
        ({"reviews_per_day": 2.5}, "reviews per day"),
        ({"new_card_order": "alphabetical"}, "by-topic, interleaved, random"),
        ({"new_card_order": 3}, "new card order"),
        ({"bury_siblings": "yes"}, "true or false"),
        ({"fsrs_parameters": [1.0, 2.0]}, "expected 21 weights"),
        ({"fsrs_parameters": "0.4 1.2"}, "list of numbers"),
        ({"fsrs_parameters": [float("nan")] * 21}, "list of numbers"),
        ({"fsrs_parameters": [1000.0] * 21}, "outside fsrs's bounds"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        check_learner_settings(values)


def test_values_are_normalised() -> None:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    checked = check_learner_settings(
        {
            "reviews_per_day": "",
            "new_card_order": "By Topic",
            "bury_siblings": True,
            "fsrs_parameters": list(DEFAULT_PARAMETERS),
        }
    )
    assert checked == {
        "reviews_per_day": None,
        "new_card_order": "by-topic",
        "bury_siblings": True,
        "fsrs_parameters": tuple(DEFAULT_PARAMETERS),
    }


def test_saved_per_profile_and_loaded_back() -> None:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    weights = [round(w * 1.01, 4) for w in DEFAULT_PARAMETERS]
    save_learner_settings(
        "ada",
        {
            "reviews_per_day": 150,
            "new_card_order": "interleaved",
            "bury_siblings": True,
            "fsrs_parameters": weights,
        },
    )
    assert read_learner_settings("ada")["fsrs_parameters"] == tuple(weights)
    s = load_settings(profile="ada")
    assert (s.reviews_per_day, s.new_card_order, s.bury_siblings) == (150, "interleaved", True)
    assert s.scheduling().parameters == tuple(weights)
    save_learner_settings("ada", {"reviews_per_day": None})  # back to no cap: the key is left out
    assert load_settings(profile="ada").reviews_per_day is None


def test_a_bad_queue_setting_in_config_toml_names_the_file() -> None:
    path: Path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('new_card_order = "shuffled"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"config\.toml: new card order must be one of"):
        load_settings()
    path.write_text("reviews_per_day = 80\n", encoding="utf-8")
    assert load_settings().reviews_per_day == 80
