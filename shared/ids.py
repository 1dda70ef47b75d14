"""New case ids that sort by when they were made: UUID version 7 (RFC 9562; Python's own
``uuid.uuid7`` arrives in 3.14).

Every service keys rows by case id. Random ids put each new row on a page of its own in
every such index once the index outgrows the cache, and a batch's writes then touch as
many pages as it has rows; ids in time order go to the end of the index together. 74 of
the 128 bits stay random, so an id is no easier to guess; what it tells is the
millisecond the case was registered, which its case number tells by the day anyway.
"""

import os
import time
import uuid

_MS_BITS = 48
_RANDOM_BITS = 80


def time_ordered_uuid(now_ns: int | None = None) -> uuid.UUID:
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    value = (ms % (1 << _MS_BITS)) << _RANDOM_BITS | int.from_bytes(os.urandom(_RANDOM_BITS // 8), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC's variant
    return uuid.UUID(int=value)
