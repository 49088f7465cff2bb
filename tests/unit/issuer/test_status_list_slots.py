"""Status list slots: the keyed permutation that turns a list's slot counter into indexes."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from issuer.credentials.status_slots import permute, permute_many
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


def _feistel_as_first_written(slot: int, size: int, key: bytes) -> int:
    """The permutation as lists were first filled with it: every round a fresh BLAKE2b."""
    bits = max(2, (size - 1).bit_length())
    bits += bits % 2
    half, mask = bits // 2, (1 << (bits // 2)) - 1
    value = slot
    while True:
        left, right = value >> half, value & mask
        for round_ in range(6):
            digest = hashlib.blake2b(bytes((round_,)) + right.to_bytes(8, "big"), key=key, digest_size=8)
            left, right = right, left ^ (int.from_bytes(digest.digest(), "big") & mask)
        value = (left << half) | right
        if value < size:
            return value


@pytest.mark.parametrize("size", [3, 1000, MIN_ENTRIES, 4 * MIN_ENTRIES + 7])
def test_indexes_of_lists_already_filled_stay_the_same(size: int) -> None:
    # The round outputs are kept per key once computed: slots given before (and after, in
    # another process) must still map to the indexes a list's credentials already hold.
    key = secrets.token_bytes(32)
    slots = sorted({0, size - 1, *(secrets.randbelow(size) for _ in range(300))})
    assert permute_many(slots, size, key) == [_feistel_as_first_written(s, size, key) for s in slots]
    assert [permute(s, size, key) for s in slots] == [_feistel_as_first_written(s, size, key) for s in slots]
