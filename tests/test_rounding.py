"""HESA rounding: every count to the nearest multiple of 5; 0, 1 and 2 become 0."""

import pytest

from resolvers.disclosure_control import hesa_round

# value -> rounded, for every value 0..30, written out by hand
TABLE = {
    0: 0, 1: 0, 2: 0, 3: 5, 4: 5, 5: 5, 6: 5, 7: 5, 8: 10, 9: 10,
    10: 10, 11: 10, 12: 10, 13: 15, 14: 15, 15: 15, 16: 15, 17: 15, 18: 20, 19: 20,
    20: 20, 21: 20, 22: 20, 23: 25, 24: 25, 25: 25, 26: 25, 27: 25, 28: 30, 29: 30,
    30: 30,
}  # fmt: skip

LARGE = {
    997: 995,
    998: 1000,
    1002: 1000,
    1003: 1005,
    123_456_787: 123_456_785,
    123_456_788: 123_456_790,
    10**18 + 2: 10**18,
    10**18 + 3: 10**18 + 5,
    2**64 + 1: 2**64 - 1,  # ...617 -> ...615: exact integer arithmetic, no floats
}


@pytest.mark.parametrize(("count", "rounded"), sorted(TABLE.items()))
def test_small_counts(count: int, rounded: int) -> None:
    assert hesa_round(count) == rounded


def test_the_table_covers_zero_to_thirty() -> None:
    assert sorted(TABLE) == list(range(31))


@pytest.mark.parametrize(("count", "rounded"), sorted(LARGE.items()))
def test_large_counts(count: int, rounded: int) -> None:
    assert hesa_round(count) == rounded


def test_three_is_the_smallest_count_shown_as_five() -> None:
    # 2 is 2 from 0 and 3 from 5; 3 is 3 from 0 and 2 from 5: no integer is a tie, and the
    # boundary sits at 2.5, which rounds up (halves up, never to even).
    assert [hesa_round(n) for n in (2, 3)] == [0, 5]
    assert all(hesa_round(5 * k + 2) == 5 * k for k in range(1000))
    assert all(hesa_round(5 * k + 3) == 5 * k + 5 for k in range(1000))


def test_every_result_is_a_nearest_multiple_of_five() -> None:
    for n in range(5000):
        r = hesa_round(n)
        assert r % 5 == 0 and abs(r - n) <= 2


@pytest.mark.parametrize("bad", [-1, -3])
def test_negative_counts_are_refused(bad: int) -> None:
    with pytest.raises(ValueError):
        hesa_round(bad)


@pytest.mark.parametrize("bad", [2.5, 3.0, True, "3"])
def test_only_integers_are_rounded(bad: object) -> None:
    with pytest.raises(TypeError):
        hesa_round(bad)  # type: ignore[arg-type]
