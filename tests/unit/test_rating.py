import pytest

from services.feedback.rating import is_satisfied


@pytest.mark.parametrize(
    ("rating", "resolved", "satisfied"),
    [
        (5, True, True), (4, True, True), (3, True, True), (2, True, False), (1, True, False),
        (5, False, False), (4, False, False), (3, False, False), (2, False, False), (1, False, False),
    ],
)
def test_truth_table(rating, resolved, satisfied):
    assert is_satisfied(rating, resolved) is satisfied
