"""The outcome framework and practice crosswalk shipped as package data."""

from cwoutcomes.model.framework import AREA_LABELS, areas_for, components_for, outcome_framework


def test_framework_has_the_four_seed_areas():
    assert list(dict.fromkeys(outcome_framework().area)) == list(AREA_LABELS)


def test_result_ids_belong_to_their_family():
    assert areas_for("4B.FIRST.KIN") == ["family_community"]
    assert areas_for("4-P1") == ["permanency_stability"]
    assert areas_for("4-ER") == ["safety"]
    assert areas_for("no-such-measure") == []


def test_practice_components_of_process_and_outcome_measures():
    assert components_for("CPM-CFT") == ["engaging"]
    assert "service_planning" in components_for("4-P5")
