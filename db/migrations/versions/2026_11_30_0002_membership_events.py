"""membership events in the project's log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 06:00:00.000000

A membership change (added, removed, role changed) takes a sequence number of the
project's log like a task change, so every instance learns it in order: such rows have
no task, and name the member and their new role.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = sa.Enum("OWNER", "MEMBER", "VIEWER", name="projectrole", native_enum=False, length=16)


def upgrade() -> None:
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.alter_column("task_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.alter_column("task_state", existing_type=sa.JSON(), nullable=True)
        batch_op.add_column(sa.Column("member_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("member_role", ROLE, nullable=True))


def downgrade() -> None:
    op.execute(
        "DELETE FROM task_events WHERE type IN ('MEMBER_ADDED', 'MEMBER_REMOVED', 'ROLE_CHANGED')"
    )
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.drop_column("member_role")
        batch_op.drop_column("member_id")
        batch_op.alter_column("task_state", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("task_id", existing_type=sa.String(length=36), nullable=False)
