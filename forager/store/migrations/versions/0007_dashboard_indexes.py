"""indexes for the dashboard's filtered pages and aggregates

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 01:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EPISODE_INDEXES = (
    ("ix_episodes_task_id", ["task_id", "id"]),
    ("ix_episodes_exit_status_id", ["exit_status", "id"]),
    ("ix_episodes_status_exit", ["status", "exit_status"]),
    ("ix_episodes_finished_at", ["finished_at"]),
)


def upgrade() -> None:
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        for name, cols in EPISODE_INDEXES:
            batch_op.create_index(name, cols, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Episodes filtered by policy kind, newest first (a JSON field: PostgreSQL only).
        op.create_index("ix_episodes_policy_kind", "episodes", [sa.text("(policy ->> 'kind')"), "id"])
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_snapshots_name", ["name"], unique=False)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_family_id", ["family", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_family_id")
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshots_name")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_episodes_policy_kind", table_name="episodes")
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        for name, _cols in reversed(EPISODE_INDEXES):
            batch_op.drop_index(name)
