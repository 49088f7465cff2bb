"""Flipping bits of a decoded list in place: what changed is reported, nothing outside
the list is touched, and the set indexes read back in order."""

from __future__ import annotations

import pytest

from vc.errors import StatusListError
from vc.status_list import MIN_ENTRIES, BitstringStatusList


def test_apply_reports_only_the_bits_that_changed() -> None:
    bits = BitstringStatusList.with_set([0, 7, 8, MIN_ENTRIES - 1])
    changed = bits.apply([(0, True), (7, False), (9, True), (MIN_ENTRIES - 1, True), (100, False)])
    assert changed == [7, 9]
    assert bits.set_indexes() == [0, 8, 9, MIN_ENTRIES - 1]


def test_apply_round_trips_through_the_encoding() -> None:
    bits = BitstringStatusList()
    bits.apply([(3, True), (65_536, True)])
    decoded = BitstringStatusList.decode(bits.encode())
    assert decoded.set_indexes() == [3, 65_536]
    assert decoded.apply([(3, False)]) == [3]
    assert decoded.encode() == BitstringStatusList.with_set([65_536]).encode()


def test_apply_refuses_an_index_outside_the_list_and_changes_nothing() -> None:
    bits = BitstringStatusList.with_set([5])
    with pytest.raises(StatusListError):
        bits.apply([(6, True), (MIN_ENTRIES, True)])
    assert bits.set_indexes() == [5]


def test_set_indexes_of_a_full_byte_and_of_an_empty_list() -> None:
    assert BitstringStatusList().set_indexes() == []
    assert BitstringStatusList.with_set(range(16, 24)).set_indexes() == list(range(16, 24))
