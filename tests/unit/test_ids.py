import uuid

from shared.ids import time_ordered_uuid

MS = 1_000_000


def test_a_case_id_is_a_version_7_uuid_of_its_millisecond():
    made = time_ordered_uuid(1_764_754_000_123 * MS)
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert made.int >> 80 == 1_764_754_000_123


def test_ids_sort_by_the_millisecond_they_were_made_in_and_never_repeat():
    start = 1_764_754_000_000 * MS
    ids = [time_ordered_uuid(start + ms * MS) for ms in range(50) for _ in range(20)]
    assert [u.int >> 80 for u in sorted(ids, key=str)] == sorted(u.int >> 80 for u in ids)
    assert len(set(ids)) == len(ids)
