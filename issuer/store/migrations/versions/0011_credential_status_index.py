"""an index on credentials.status, so re-signing a status list costs what the list holds,
not what the table holds

Revision ID: 0011
Revises: 0010

Every status change re-derives the changed list's bits: the list's entries joined to the
credentials whose status sets that purpose's bit (revoked, suspended, superseded). Without an
index on the status the join read the whole credentials table (revocation p50 grew from 32 ms
at 10,000 credentials to 57 ms at 1,000,000 on PostgreSQL, ``bench/issue_speed.py``); with it
the database reads the few credentials in that status.
"""
from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.create_index(batch_op.f("ix_credentials_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_status"))
