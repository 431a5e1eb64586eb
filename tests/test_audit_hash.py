"""The audit chain's hash, pinned: an event's hash is the same bytes today as when the
chain was written, whatever path computed it (`digest_of`, which `audit verify` uses, and
the append's cheaper `_Chainer`)."""

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from models.audit_chain import CHAINED, LISTS, _Chainer, digest_of

KEY = b"k" * 32

EVENT: dict[str, object] = {
    "seq": 7,
    "id": "01HZZZZZZZZZZZZZZZZZZZZZZZ",
    "at": datetime(2026, 1, 2, 3, 4, 5, 678901).isoformat(),
    "actor_id": "u-1",
    "actor_username": "st100",
    "actor_roles": ["SENIOR_TUTOR", "TUTOR"],
    "relationships": ["senior_tutor", "tutor"],
    "action": "read",
    "operation_name": "Page",
    "student_id": "s-1",
    "field_names": ["welfareFlag", "note:n-1", "filter:name"],
    "sealed_fields": ["note:n-2"],
    "decision": "ALLOWED",
    "prev_hash": "ab" * 32,
    "records": ["note:n-1:" + "cd" * 32],
    "nonce": "00112233445566778899aabbccddeeff",
}
# computed by the chain as it stood before the append was made cheaper (issue 16)
PINNED = "458d1727da90eba4a559a3a7259018b6c0322f55928b6dcca23e182c9324e77b"
OLD_EVENT = {k: v for k, v in EVENT.items() if k != "nonce"} | {
    "operation_name": None,
    "actor_id": None,
    "records": [],
    "field_names": ['nam\u00e9 "q"'],
}
OLD_PINNED = "2179eaae250fd9659f6bb8bfa6df8786c53bdf5b438290bb0ad33212a76a31f6"


def test_the_hash_of_a_fixed_event_is_pinned() -> None:
    assert digest_of(KEY, EVENT) == PINNED
    assert _Chainer(KEY).digest(EVENT) == PINNED
    assert digest_of(KEY, OLD_EVENT) == OLD_PINNED  # no nonce, nulls, escapes
    assert _Chainer(KEY).digest(OLD_EVENT) == OLD_PINNED


def test_a_chainer_reused_over_many_events_keeps_each_hash() -> None:
    chainer = _Chainer(KEY)
    for _ in range(3):
        assert chainer.digest(EVENT) == PINNED
        assert chainer.digest(OLD_EVENT) == OLD_PINNED


text = st.text(max_size=12)
scalar = st.one_of(st.none(), text, st.integers(-(10**12), 10**12))


@given(
    st.fixed_dictionaries(
        {name: st.lists(text, max_size=4) if name in LISTS else scalar for name in CHAINED}
    ),
    st.one_of(st.none(), text),
)
def test_the_cheaper_path_writes_the_same_hash(
    content: dict[str, object], nonce: str | None
) -> None:
    if nonce:
        content = content | {"nonce": nonce}
    chainer = _Chainer(KEY)
    assert chainer.digest(content) == digest_of(KEY, content)
    assert chainer.digest(content) == digest_of(KEY, content)  # from its cache
