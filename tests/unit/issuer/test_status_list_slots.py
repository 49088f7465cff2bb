"""Status list slots: the keyed permutation that turns a list's slot counter into indexes."""

from __future__ import annotations

import secrets

import pytest

from issuer.credentials.status_slots import permute
from vc.status_list import MIN_ENTRIES


@pytest.mark.parametrize("size", [1, 2, 3, 5, 16, 17, 100, 1000, 4096, 5000])
@pytest.mark.parametrize("key", [b"\x00" * 32, b"another key", bytes(range(32))])
def test_permute_is_a_bijection_of_the_list(size: int, key: bytes) -> None:
    indexes = [permute(slot, size, key) for slot in range(size)]
    assert sorted(indexes) == list(range(size))


def test_permute_is_a_bijection_of_a_full_size_list() -> None:
    key = secrets.token_bytes(32)
    assert sorted(permute(slot, MIN_ENTRIES, key) for slot in range(MIN_ENTRIES)) == list(range(MIN_ENTRIES))


def test_different_keys_give_different_orders_and_no_visible_pattern() -> None:
    first = [permute(slot, MIN_ENTRIES, b"key one") for slot in range(64)]
    second = [permute(slot, MIN_ENTRIES, b"key two") for slot in range(64)]
    assert first != second
    assert len(set(first) & set(second)) < 8  # different positions, not a shifted copy
    assert first != sorted(first)  # consecutive slots do not give consecutive indexes
    assert max(first) > MIN_ENTRIES // 2 and min(first) < MIN_ENTRIES // 2  # spread over the list
    assert [permute(slot, MIN_ENTRIES, b"key one") for slot in range(64)] == first  # a function of the key


@pytest.mark.parametrize("slot", [-1, 10])
def test_a_slot_outside_the_list_is_refused(slot: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        permute(slot, 10, b"k")
