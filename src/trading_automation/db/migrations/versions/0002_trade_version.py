"""Add trade.version, the row version that guards updates from the broker (optimistic concurrency).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Existing rows start at version 1. The server default fills them in one statement, without a table
rewrite on PostgreSQL 11+ (a constant default is stored in the catalog). SQLite cannot add a CHECK
constraint to an existing table, so the batch operation copies the table there.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trade") as batch:
        batch.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch.create_check_constraint(op.f("ck_trade_version_positive"), "version >= 1")


def downgrade() -> None:
    with op.batch_alter_table("trade") as batch:
        batch.drop_constraint(op.f("ck_trade_version_positive"), type_="check")
        batch.drop_column("version")
