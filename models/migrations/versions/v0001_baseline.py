"""baseline: every table as models/tables.py defines it

Revision ID: 0001
Revises:
Create Date: 2026-11-30 09:58:00

Every table as models/tables.py defined it when migrations were introduced. A database
made before then by SQLModel's create_all is stamped with this revision by
models.migrate.upgrade when its tables match it exactly.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=True),
        sa.Column("actor_roles", sa.JSON(), nullable=False),
        sa.Column("relationships", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("operation_name", sa.String(length=200), nullable=True),
        sa.Column("student_id", sa.String(length=36), nullable=True),
        sa.Column("field_names", sa.JSON(), nullable=False),
        sa.Column("sealed_fields", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index(op.f("ix_audit_events_actor_id"), "audit_events", ["actor_id"], unique=False)
    op.create_index(
        op.f("ix_audit_events_student_id"), "audit_events", ["student_id"], unique=False
    )

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_users_username"), "users", ["username"], unique=True)

    op.create_table(
        "concerns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("crsid_given", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("raised_by_id", sa.String(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["raised_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "starts_at", "ends_at"),
    )
    op.create_index(op.f("ix_duty_shifts_user_id"), "duty_shifts", ["user_id"], unique=False)

    op.create_table(
        "students",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("crsid", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("course", sa.String(length=200), nullable=True),
        sa.Column("year_of_study", sa.Integer(), nullable=True),
        sa.Column("tutor_id", sa.String(), nullable=True),
        sa.Column("room", sa.String(length=100), nullable=True),
        sa.Column("emergency_contact", sa.String(length=500), nullable=True),
        sa.Column("welfare_flag", sa.Boolean(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("lodge_alert", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_students_crsid"), "students", ["crsid"], unique=True)
    op.create_index(op.f("ix_students_name"), "students", ["name"], unique=False)
    op.create_index(op.f("ix_students_tutor_id"), "students", ["tutor_id"], unique=False)

    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(), nullable=False),
        sa.Column("recipient_id", sa.String(), nullable=True),
        sa.Column("recipient_description", sa.String(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by_id", sa.String(), nullable=True),
        sa.Column("revoked_by_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_consents_recipient_id"), "consents", ["recipient_id"], unique=False)
    op.create_index(op.f("ix_consents_student_id"), "consents", ["student_id"], unique=False)

    op.create_table(
        "directors_of_studies",
        sa.Column("student_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("student_id", "user_id"),
    )
    op.create_index(
        op.f("ix_directors_of_studies_user_id"), "directors_of_studies", ["user_id"], unique=False
    )

    op.create_table(
        "notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(), nullable=False),
        sa.Column("author_id", sa.String(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("confidentiality", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_notes_student_id"), "notes", ["student_id"], unique=False)

    op.create_table(
        "supervisions",
        sa.Column("student_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("student_id", "user_id"),
    )
    op.create_index(op.f("ix_supervisions_user_id"), "supervisions", ["user_id"], unique=False)

    op.create_table(
        "disclosures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("consent_id", sa.String(), nullable=True),
        sa.Column("justification", sa.String(), nullable=True),
        sa.Column("information_shared", sa.String(), nullable=False),
        sa.Column("disclosed_by_id", sa.String(), nullable=True),
        sa.Column("authorised_by_id", sa.String(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withheld_from_student", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorised_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["disclosed_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_disclosures_student_id"), "disclosures", ["student_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_disclosures_student_id"), table_name="disclosures")

    op.drop_table("disclosures")
    op.drop_index(op.f("ix_supervisions_user_id"), table_name="supervisions")

    op.drop_table("supervisions")
    op.drop_index(op.f("ix_notes_student_id"), table_name="notes")

    op.drop_table("notes")
    op.drop_index(op.f("ix_directors_of_studies_user_id"), table_name="directors_of_studies")

    op.drop_table("directors_of_studies")
    op.drop_index(op.f("ix_consents_student_id"), table_name="consents")
    op.drop_index(op.f("ix_consents_recipient_id"), table_name="consents")

    op.drop_table("consents")
    op.drop_index(op.f("ix_students_tutor_id"), table_name="students")
    op.drop_index(op.f("ix_students_name"), table_name="students")
    op.drop_index(op.f("ix_students_crsid"), table_name="students")

    op.drop_table("students")
    op.drop_index(op.f("ix_duty_shifts_user_id"), table_name="duty_shifts")

    op.drop_table("duty_shifts")
    op.drop_table("concerns")
    op.drop_index(op.f("ix_users_username"), table_name="users")

    op.drop_table("users")
    op.drop_index(op.f("ix_audit_events_student_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_actor_id"), table_name="audit_events")

    op.drop_table("audit_events")
