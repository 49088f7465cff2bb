"""Words the verification page uses for a credential's facts."""

from __future__ import annotations

import pytest

from verifier.views import licensing_board, mask_license


@pytest.mark.parametrize(
    ("jurisdiction", "words"),
    [
        ("US-TX", "the Texas licensing board"),
        ("US-NY", "the New York licensing board"),
        ("US-DC", "the District of Columbia licensing board"),
        ("CA-ON", "the licensing board of CA-ON"),
        ("US-ZZ", "the licensing board of US-ZZ"),
        ("", "the licensing board"),
        (None, "the licensing board"),
    ],
)
def test_licensing_board_names_the_state(jurisdiction: object, words: str) -> None:
    assert licensing_board(jurisdiction) == words


def test_license_number_is_masked_but_for_its_last_four() -> None:
    assert mask_license("RN-884512") == "•••••4512"
    assert mask_license("123") == "•••"
