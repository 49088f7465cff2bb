"""QR images and PDF certificates rendered on request: drop credentials.qr_png, qr_svg and
the credential_documents table

Revision ID: 0009
Revises: 0008

Every credential row held its QR code twice (PNG and SVG, about 26 KiB together) and a
current one its PDF certificate per paper size. All of them are rendered from the signed
token and the verify link, deterministically, so they are now rendered on request and
named by a strong ETag computed without rendering (``issuer.credentials.qr``,
``issuer.credentials.certificate``). Nothing is lost: the link a QR code holds depends only
on the credential id and the configured URLs, and the PDF only on the signed token.

Downgrade adds the columns back and renders every credential's QR codes again from the
issuer's configuration in the environment (``ISSUER_URL``, ``ISSUER_VERIFIER_URL``), the way
issuance at 0008 did (drawn here, not by the issuer's current code, so that it stays what
0008 stored); ``credential_documents`` comes back empty (it was a cache).
"""
import io

from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("credential_documents")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("qr_svg")
        batch.drop_column("qr_png")


def _qr_0008(text: str) -> tuple[bytes, str]:
    """The PNG and SVG QR codes of ``text`` as issuance at revision 0008 stored them."""
    import qrcode
    import qrcode.image.svg
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    svg = str(code.make_image(image_factory=qrcode.image.svg.SvgPathFillImage).to_string(encoding="unicode"))
    opened = svg.index(">", svg.index("<svg")) + 1
    background = '<rect fill="white" x="0" y="0" width="100%" height="100%"/>'
    return buffer.getvalue(), svg[:opened] + background + svg[opened:]


def downgrade() -> None:
    from issuer import config
    from vc import protocol

    settings = config.load()
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("qr_png", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("qr_svg", sa.Text(), nullable=True))
    bind = op.get_bind()
    ids = bind.execute(sa.text("SELECT id FROM credentials ORDER BY id")).scalars().all()
    update = sa.text("UPDATE credentials SET qr_png = :png, qr_svg = :svg WHERE id = :id").bindparams(
        sa.bindparam("png", type_=sa.LargeBinary())
    )
    for credential_id in ids:
        link = protocol.verify_link(settings.verifier_url, settings.issuer_url, credential_id)
        png, svg = _qr_0008(link)
        bind.execute(update, {"png": png, "svg": svg, "id": credential_id})
    with op.batch_alter_table("credentials") as batch:
        batch.alter_column("qr_png", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("qr_svg", existing_type=sa.Text(), nullable=False)
    op.create_table(
        "credential_documents",
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_credential_documents_credential_id_credentials"),
        ),
        sa.PrimaryKeyConstraint("credential_id", "kind", name=op.f("pk_credential_documents")),
    )
