"""rate limits shared by every worker

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00

`rate_limits`: the counters of the rate limits and lock-outs (app/ratelimit_store.py),
so that they hold across workers and hosts on PostgreSQL. Nothing in it needs keeping:
downgrading drops it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("rate_limits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_limits_until"), ["until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_limits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limits_until"))
    op.drop_table("rate_limits")
