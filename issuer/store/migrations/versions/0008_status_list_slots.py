"""status list slot counters: status_lists.allocated and status_lists.slot_key

Revision ID: 0008
Revises: 0007

A new credential's index in a status list is no longer drawn at random and retried: each
list counts the slots it has given (``allocated``, incremented atomically) and maps slot
``n`` to an index through a pseudo-random permutation keyed by the list's ``slot_key``.

Lists made before this migration had random indexes; they cannot be continued by a
permutation (its next index might already be taken), so they are marked full
(``allocated = size``) and new credentials go to new lists. Their existing entries,
bits and URLs are unchanged.
"""
from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("status_lists", sa.Column("allocated", sa.Integer(), server_default="0", nullable=False))
    op.add_column("status_lists", sa.Column("slot_key", sa.String(64), server_default="", nullable=False))
    op.execute("UPDATE status_lists SET allocated = size")


def downgrade() -> None:
    with op.batch_alter_table("status_lists") as batch:
        batch.drop_column("slot_key")
        batch.drop_column("allocated")
