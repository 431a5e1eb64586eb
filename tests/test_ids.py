"""Random record ids (models/ids.new_id) are version 4 UUIDs in their usual text form."""

import uuid

from models.ids import new_id


def test_new_ids_are_random_version_4_uuids() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value  # lower-case hex, 8-4-4-4-12
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # every one of the 122 random bits takes both values somewhere in 5,000 ids
    bits = [uuid.UUID(v).int for v in ids]
    fixed = {76, 77, 78, 79, 62, 63}  # the version's and the variant's bits (from the LSB)
    for bit in range(128):
        if bit in fixed:
            continue
        seen = {(b >> bit) & 1 for b in bits}
        assert seen == {0, 1}, bit
