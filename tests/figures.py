"""Shared by tests/test_figures_*.py: compare a spec's stated answers with figures recomputed by hand."""

from __future__ import annotations

from collections.abc import Mapping

import pytest


def assert_expected_match(expected: Mapping[str, Mapping[str, str]], ours: Mapping[str, tuple[object, str]],
                          scenario: str, units: Mapping[str, tuple[float, str]]) -> None:
    """Every ``expected[name][scenario]`` ("57870.37 msg/s") equals our base-unit value within 0.1 %.

    ``units`` maps each unit the spec writes to (factor, base unit); a figure whose unit is ``"int"`` must be
    written exactly as that whole number.
    """
    assert set(ours) == set(expected)
    for name, (value, unit) in ours.items():
        text = expected[name][scenario]
        if unit == "int":
            assert text == str(value), (name, scenario)
            continue
        number, _, stated_unit = text.partition(" ")
        factor, base = units[stated_unit]
        assert base == unit, name
        assert float(number) * factor == pytest.approx(value, rel=1e-3), (name, scenario)
