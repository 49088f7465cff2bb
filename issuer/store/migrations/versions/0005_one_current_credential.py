"""at most one current credential per practitioner and program, enforced by a unique index

Revision ID: 0005
Revises: 0003

``credentials.is_current`` is true for the current credential of a (practitioner,
program) and NULL otherwise; a unique index over the three columns refuses a second one.
Existing rows: the newest active or suspended credential of each pair becomes current.
Older active duplicates (made by concurrent requests before this migration) keep their
status but are no longer current: renewal and correction leave them alone.
"""
from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("credentials", sa.Column("is_current", sa.Boolean(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, practitioner_id, program_id FROM credentials "
            "WHERE status IN ('active', 'suspended') "
            "ORDER BY practitioner_id, program_id, issued_at DESC, id DESC"
        )
    ).all()
    seen = set()
    for credential_id, practitioner_id, program_id in rows:
        if (practitioner_id, program_id) in seen:
            continue
        seen.add((practitioner_id, program_id))
        bind.execute(sa.text("UPDATE credentials SET is_current = :yes WHERE id = :id"),
                     {"yes": True, "id": credential_id})
    op.create_index(
        "uq_credentials_current", "credentials", ["practitioner_id", "program_id", "is_current"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_credentials_current", table_name="credentials")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("is_current")
