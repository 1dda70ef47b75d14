"""The two-way rating's rules: pure, no I/O."""

SATISFIED_FROM = 3


def is_satisfied(rating: int, resolved: bool) -> bool:
    """A citizen who says it is not resolved, or rates 1–2, reopens the case."""
    return resolved and rating >= SATISFIED_FROM
