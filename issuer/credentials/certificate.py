"""The printable PDF certificate (A4 or US Letter), rendered once per credential and paper.

Made with fpdf2. The QR code is the one stored at issuance, printed 40 mm wide (at least
25 mm scans reliably from paper). The certificate carries no status of its own: its QR code
opens the verifier, which shows the live status.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.errors import NotFound
from issuer.store.models import Credential, CredentialDocument
from vc.credential import PROFESSIONS

PAPERS = {"a4": "A4", "letter": "Letter"}
QR_MM = 40
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)


def _date(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment.strftime('%B %Y')}"


def _fonts(pdf: FPDF) -> tuple[str, bool]:
    """A Unicode font when the system has DejaVu (any name prints), else core Helvetica."""
    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu", True
    return "Helvetica", False


def render(ctx: IssuerContext, row: Credential, paper: str) -> bytes:
    """The certificate of ``row`` as PDF bytes on ``paper`` (``a4`` or ``letter``)."""
    program = ctx.programs.get(row.program_id)
    practitioner = row.practitioner
    pdf = FPDF(orientation="portrait", unit="mm", format=PAPERS[paper])
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 20, 20)
    pdf.set_title("Training certificate")
    pdf.set_author(ctx.config.issuer_name)
    pdf.add_page()
    family, unicode_ok = _fonts(pdf)

    def text(value: str) -> str:
        return value if unicode_ok else value.encode("latin-1", "replace").decode("latin-1")

    width = pdf.w - 40
    pdf.set_draw_color(31, 79, 209)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)

    def line(value: str, size: float, *, bold: bool = False, gap: float = 2) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.multi_cell(width, size * 0.5, text(value), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    pdf.set_y(28)
    pdf.set_text_color(31, 79, 209)
    line(ctx.config.issuer_name, 13, bold=True, gap=6)
    pdf.set_text_color(20, 20, 24)
    line("Certificate of training", 26, bold=True, gap=8)
    line("This certifies that", 12)
    line(f"{practitioner.given_name} {practitioner.family_name}", 24, bold=True)
    line(
        f"{PROFESSIONS.get(practitioner.profession, practitioner.profession)}, "
        f"license {practitioner.license_jurisdiction}",
        11,
        gap=6,
    )
    line("has met every requirement of", 12)
    line(program.name if program else row.program_id, 17, bold=True, gap=4)
    if program is not None:
        line(
            f"Accredited by {program.accreditation_body} ({program.accreditation_id}) · "
            f"{program.cme_credits:g} CME credits",
            11,
            gap=6,
        )
    line(
        f"Issued {_date(row.valid_from)} · Valid until {_date(row.valid_until)} (dates in UTC)",
        11,
        gap=2,
    )
    line(f"Issued by {ctx.config.issuer_name}", 11, gap=2)
    pdf.set_font(family, "", 9)
    line(f"Credential id {row.id}", 9, gap=8)

    qr_top = pdf.get_y()
    pdf.image(io.BytesIO(row.qr_png), x=(pdf.w - QR_MM) / 2, y=qr_top, w=QR_MM, h=QR_MM)
    pdf.set_y(qr_top + QR_MM + 4)
    line("Scan this QR code to see the live status of this certificate", 11, bold=True, gap=1)
    line("(current, suspended, revoked or expired) on an independent verification page:", 10, gap=1)
    line(ctx.verify_url(row.id), 8, gap=6)
    pdf.set_text_color(80, 83, 94)
    line(
        "A training certification, not a license to practise. Check the practitioner's "
        "license with the state board.",
        9,
    )
    return bytes(pdf.output())


def certificate(session: Session, ctx: IssuerContext, credential_id: str, paper: str) -> bytes:
    """The stored PDF of a credential, rendering and storing it the first time."""
    if paper not in PAPERS:
        raise NotFound(f"no paper size {paper!r} (use a4 or letter)")
    row = session.get(Credential, credential_id) if len(credential_id) <= 36 else None
    if row is None:
        raise NotFound(f"no credential {credential_id!r}")
    kind = f"pdf-{paper}"
    stored = session.get(CredentialDocument, (row.id, kind))
    if stored is not None:
        return stored.content
    content = render(ctx, row, paper)
    try:
        document = CredentialDocument(credential_id=row.id, kind=kind, content=content, created_at=ctx.now())
        session.add(document)
        session.commit()
    except IntegrityError:  # rendered concurrently by another request: keep theirs
        session.rollback()
    return content
