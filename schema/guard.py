"""Fail-closed construction of API objects.

Every object the API returns is built by `build`, which fills each plain field only if
the policy named it for this actor, and every resolver field of a `guarded` type runs
only if its name is in the object's `shown`. A field added to a type without a policy
rule is therefore null at run time (or an error, if declared non-null), and
tests/test_fail_closed.py fails on it at build time."""

from collections.abc import Mapping
from typing import Any, TypeVar

from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField

from resolvers.deadline import check_deadline

T = TypeVar("T")


class Redact(FieldExtension):
    def __init__(self, name: str) -> None:
        self.name = name

    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        if self.name not in source.shown:
            return None
        return next_(source, info, **kwargs)


def _fields(cls: type) -> list[StrawberryField]:
    definition = get_object_definition(cls, strict=True)
    return list(definition.fields)


def guarded(cls: type[T]) -> type[T]:
    """Puts every resolver field of a strawberry type behind the policy's field list."""
    for field in _fields(cls):
        if field.base_resolver is not None:
            field.extensions.append(Redact(field.python_name))
    cls.__guarded__ = True  # type: ignore[attr-defined]
    return cls


def plain_field_names(cls: type) -> list[str]:
    return [f.python_name for f in _fields(cls) if f.base_resolver is None]


_PLAIN: dict[type, list[str]] = {}


def build(cls: type[T], fields: frozenset[str], values: Mapping[str, Any], **private: Any) -> T:
    check_deadline()
    names = _PLAIN.get(cls)
    if names is None:
        names = _PLAIN[cls] = plain_field_names(cls)
    kwargs = {name: values[name] if name in fields else None for name in names}
    return cls(shown=fields, **kwargs, **private)  # type: ignore[call-arg]
