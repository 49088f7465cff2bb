"""credential lifecycle (supersession, public revocation category, private note) and audit log

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 19:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("status_category", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("status_note", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_credentials_kid"), ["kid"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Entries are never edited: the database refuses it too (the hash chain catches any
        # edit made by someone able to drop this trigger).
        op.execute(
            "CREATE FUNCTION audit_log_no_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_no_update()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_no_update()")
    op.drop_table("audit_log")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_kid"))
        batch_op.drop_column("status_note")
        batch_op.drop_column("status_category")
        batch_op.drop_column("superseded_by")
