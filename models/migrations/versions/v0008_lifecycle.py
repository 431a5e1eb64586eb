"""records lifecycle

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:00:00

- `students.left_at`: the day the student left; retention counts from it.
- `legal_holds`: holds set and lifted by the Senior Tutors; retention skips a held student.
- `note_amendments`: corrections and statements of disagreement added to a note.
- `notes_shown`: the notes given to their student in a subject access export.
- `retention_runs`: each `retention apply`, with its `--as-of`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_at", sa.Date(), nullable=True))
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("set_by_id", sa.String(), nullable=True),
        _when("set_at", nullable=False),
        _when("lifted_at"),
        sa.Column("lifted_by_id", sa.String(), nullable=True),
        sa.Column("lift_reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.ForeignKeyConstraint(["set_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["lifted_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_holds_student_id"), ["student_id"])
    op.create_table(
        "note_amendments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("note_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("author_id", sa.String(), nullable=True),
        _when("created_at", nullable=False),
        sa.ForeignKeyConstraint(["note_id"], ["notes.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("note_amendments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_amendments_note_id"), ["note_id"])
    op.create_table(
        "notes_shown",
        sa.Column("note_id", sa.String(), nullable=False),
        sa.Column("student_id", sa.String(), nullable=False),
        _when("shown_at", nullable=False),
        sa.ForeignKeyConstraint(["note_id"], ["notes.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.PrimaryKeyConstraint("note_id"),
    )
    with op.batch_alter_table("notes_shown", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notes_shown_student_id"), ["student_id"])
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        _when("as_of", nullable=False),
        _when("applied_at", nullable=False),
        sa.Column("students_erased", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("retention_runs")
    with op.batch_alter_table("notes_shown", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notes_shown_student_id"))
    op.drop_table("notes_shown")
    with op.batch_alter_table("note_amendments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_amendments_note_id"))
    op.drop_table("note_amendments")
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_holds_student_id"))
    op.drop_table("legal_holds")
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.drop_column("left_at")
