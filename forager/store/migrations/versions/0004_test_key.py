"""test results: unbounded test ids, unique by digest

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 23:40:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("test_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("test_key", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, test_id FROM test_results")).fetchall()
    for row_id, test_id in rows:
        conn.execute(
            sa.text("UPDATE test_results SET test_key = :k WHERE id = :i"),
            {"k": hashlib.sha256(test_id.encode()).hexdigest(), "i": row_id},
        )
    with op.batch_alter_table("test_results", schema=None) as batch_op:
        batch_op.drop_constraint("uq_test_results_environment_id", type_="unique")
        batch_op.alter_column("test_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("test_id", existing_type=sa.String(length=2048), type_=sa.Text())
        batch_op.create_unique_constraint("uq_test_results_environment_id", ["environment_id", "test_key"])


def downgrade() -> None:
    with op.batch_alter_table("test_results", schema=None) as batch_op:
        batch_op.drop_constraint("uq_test_results_environment_id", type_="unique")
        batch_op.alter_column("test_id", existing_type=sa.Text(), type_=sa.String(length=2048))
        batch_op.create_unique_constraint("uq_test_results_environment_id", ["environment_id", "test_id"])
        batch_op.drop_column("test_key")
