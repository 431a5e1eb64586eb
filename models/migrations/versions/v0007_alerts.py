"""alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00

- `users.email`: where alerts are emailed (none: in the service only).
- `alerts`: the transactional outbox, written with the change that raised the alert; no
  content, only its kind, student and the record it points to.
- `alert_deliveries`: each recipient the policy named at delivery, whether they read it,
  and the state of its email.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=True),
        sa.Column("record_id", sa.String(length=36), nullable=True),
        sa.Column("raised_by_id", sa.String(length=36), nullable=True),
        _when("created_at", nullable=False),
        _when("delivered_at"),
        _when("escalated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_student_id"), ["student_id"], unique=False)
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        _when("created_at", nullable=False),
        _when("read_at"),
        sa.Column("email_state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("sent_at"),
        _when("claimed_until"),
        sa.Column("claimed_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "user_id"),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_deliveries_alert_id"), ["alert_id"])
        batch_op.create_index(batch_op.f("ix_alert_deliveries_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_alert_deliveries_email_state"), ["email_state"])


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_email_state"))
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_user_id"))
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_alert_id"))
    op.drop_table("alert_deliveries")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_student_id"))
    op.drop_table("alerts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
