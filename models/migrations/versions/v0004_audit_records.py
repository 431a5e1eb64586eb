"""audit records: keyed digests of what each event's transaction wrote

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-03 07:00:00

- `records` on audit_events: `kind:id:digest` entries (models.audit_records). Events
  already in the chain get '[]' (the server default fills them, then is dropped so that
  the column matches the model).
- From this revision the chain is keyed (HMAC-SHA256 under NEEDTOKNOW_AUDIT_KEY): events
  written before it no longer verify and `audit verify` says they are unkeyed; the chain
  starts afresh (there was no production data).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("records", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("records", existing_type=sa.JSON(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("records")
