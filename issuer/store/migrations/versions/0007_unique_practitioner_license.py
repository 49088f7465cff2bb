"""one practitioner per license: (license_jurisdiction, license_number) is unique

Revision ID: 0007
Revises: 0006

A license (jurisdiction + number) identifies a practitioner: the API answers 409 with the
existing id for a second registration of it, and the CSV import matches rows by it. A
unique constraint enforces that for concurrent requests and every issuer process.

If the database already holds two practitioners with one license, the upgrade stops and
names each duplicated license and its practitioner ids; merge or correct those records
(staff decide which is right), then run ``issuer init`` again. Nothing is changed before.
"""
from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


class DuplicateLicenses(RuntimeError):
    """Existing practitioners share a license; the message lists them."""


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT license_jurisdiction, license_number, id FROM practitioners "
            "WHERE (license_jurisdiction, license_number) IN ("
            "  SELECT license_jurisdiction, license_number FROM practitioners"
            "  GROUP BY license_jurisdiction, license_number HAVING COUNT(*) > 1)"
            " ORDER BY license_jurisdiction, license_number, created_at, id"
        )
    ).all()
    if rows:
        grouped: dict[tuple[str, str], list[str]] = {}
        for jurisdiction, number, practitioner_id in rows:
            grouped.setdefault((jurisdiction, number), []).append(practitioner_id)
        listed = "; ".join(f"{j} {n}: practitioners {', '.join(ids)}" for (j, n), ids in grouped.items())
        raise DuplicateLicenses(
            f"cannot make licenses unique: {len(grouped)} license(s) are registered to more than one "
            f"practitioner ({listed}). Keep one practitioner per license (move or correct the others' "
            "records), then run the upgrade again."
        )
    with op.batch_alter_table("practitioners") as batch:
        batch.create_unique_constraint(
            "uq_practitioners_license", ["license_jurisdiction", "license_number"]
        )


def downgrade() -> None:
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_constraint("uq_practitioners_license", type_="unique")
