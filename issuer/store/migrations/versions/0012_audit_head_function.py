"""PostgreSQL: the audit chain's lock and its newest entry in one round trip

Revision ID: 0012
Revises: 0011

Every write that appends to the audit log takes the chain's advisory lock, then reads the
newest entry (the one the new entry links to). Two statements meant two round trips, the
second one while every other writer queued on the lock. ``audit_log_head(key)`` takes the
lock and then reads the newest entry: a VOLATILE PL/pgSQL function, so the read takes its
own snapshot after the lock is granted, in READ COMMITTED as two statements did, and sees the
entry the previous holder committed. SQLite needs nothing: its write lock is already held.
"""
from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_head(lock_key bigint) "
            "RETURNS TABLE (head_seq integer, head_hash varchar) "
            "LANGUAGE plpgsql VOLATILE AS $$ "
            "BEGIN "
            "PERFORM pg_advisory_xact_lock(lock_key); "
            "RETURN QUERY SELECT entry.seq, entry.hash FROM audit_log AS entry "
            "ORDER BY entry.seq DESC LIMIT 1; "
            "END $$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_head(bigint)")
