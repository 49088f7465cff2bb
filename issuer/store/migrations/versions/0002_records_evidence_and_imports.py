"""records: corrections (supersedes_id) and import idempotency (import_key)

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supersedes_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("import_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_records_supersedes_id"), ["supersedes_id"])
        batch_op.create_unique_constraint(batch_op.f("uq_records_import_key"), ["import_key"])
        batch_op.create_foreign_key(
            batch_op.f("fk_records_supersedes_id_records"), "records", ["supersedes_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_records_supersedes_id_records"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_records_import_key"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_records_supersedes_id"), type_="unique")
        batch_op.drop_column("import_key")
        batch_op.drop_column("supersedes_id")
