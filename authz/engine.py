"""Builds the Oso engine: the policy files and the classes they name."""

from importlib import resources

from oso import Oso

from authz.alerts import AlertClass
from authz.facts import (
    Caller,
    Carrier,
    ConsentClass,
    DisclosureClass,
    Me,
    NoteClass,
    RootField,
    Standing,
    StudentTies,
)

POLICY_FILES = (
    "relationships.polar",
    "student.polar",
    "records.polar",
    "api.polar",
    "alerts.polar",
    "lifecycle.polar",
)
POLICY_CLASSES = (
    Caller,
    StudentTies,
    Standing,
    NoteClass,
    ConsentClass,
    DisclosureClass,
    RootField,
    Me,
    Carrier,
    AlertClass,
)


def policy_text() -> str:
    folder = resources.files("authz") / "policy"
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in POLICY_FILES)


def build_oso() -> Oso:
    oso = Oso()
    for cls in POLICY_CLASSES:
        oso.register_class(cls)  # type: ignore[no-untyped-call]
    oso.load_str(policy_text())
    return oso
