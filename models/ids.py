import uuid

_NAMESPACE = uuid.UUID("6f1c3c5e-8f0e-4f7a-9a51-2a1e5b0d4c11")


def natural_id(kind: str, *parts: str) -> str:
    """A stable id for a record known by a natural key, so importing the same
    dataset twice finds the same rows instead of duplicating them."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((kind, *parts))))


def new_id() -> str:
    return str(uuid.uuid4())
