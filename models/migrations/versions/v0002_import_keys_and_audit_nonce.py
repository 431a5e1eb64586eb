"""import keys and audit nonce

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:43:23

- `import_key` on notes, consents, disclosures and duty_shifts: the importer's digest of
  a record's natural key (nullable: rows made through the API have none; unique, so one
  file's record maps to one row). The public ids of these rows are now random; rows
  imported before this revision keep their ids and are given their key by the importer
  the next time a file names them.
- `nonce` on audit_events: events already in the chain get '' (the server default is
  used only to fill them, then dropped so that the column matches the model).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMPORTED = ("consents", "disclosures", "duty_shifts", "notes")


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("nonce", sa.String(length=64), nullable=False, server_default="")
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("nonce", existing_type=sa.String(length=64), server_default=None)

    for table in IMPORTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("import_key", sa.String(length=64), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_import_key"), ["import_key"], unique=True)


def downgrade() -> None:
    for table in reversed(IMPORTED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_import_key"))
            batch_op.drop_column("import_key")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("nonce")
