"""The printable PDF certificate (A4 or US Letter), and :func:`signed_view`: what a
credential says, read from its signed token, never from the live database row.

Made with fpdf2, with HarfBuzz text shaping (``uharfbuzz``) and Noto fonts, so a name in any
script prints: Latin, Chinese, Japanese, Korean, Arabic and Hebrew (joined and right to left).
The QR code of the verify link is printed 40 mm wide (at least 25 mm scans reliably from
paper); it opens the verifier, which shows the live status.

Nothing is stored: a certificate is rendered on request from the signed token, and the
rendering is deterministic (its creation date is the issuance time), so the same inputs
give the same bytes and :attr:`Certificate.etag` names them without rendering. A revoked,
suspended, superseded or expired one is never offered clean: it is stamped across the page
saying so (and, when superseded, where the current one is); the state is part of the ETag.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fpdf import FPDF
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.credentials import qr
from issuer.credentials.issuance import effective_status, get_credential
from issuer.credentials.status_changes import public_status
from issuer.errors import NotFound
from issuer.store.models import Credential
from vc import credential as vcc
from vc import jose

PAPERS = {"a4": "A4", "letter": "Letter"}
QR_MM = 40
#: Changes whenever the same inputs would render other bytes (a layout change, another
#: fpdf2): it is part of every ETag, so no cache keeps a certificate drawn the old way.
RENDERER = f"pdf-3/fpdf2-{version('fpdf2')}"
#: Rendered certificates kept in memory, by ETag (a render takes about 0.3 s, half of it
#: parsing fonts; the bytes for one ETag never change, so a kept copy is never stale).
RENDERED_KEPT = 64
_rendered: OrderedDict[str, bytes] = OrderedDict()
_rendered_lock = threading.Lock()

#: Fonts, first found wins: (family, regular, bold). The first family is the main one; the
#: others are fallbacks for the scripts it lacks, loaded only when a text needs them.
_NOTO = Path("/usr/share/fonts/truetype/noto")
_NOTO_CJK = Path("/usr/share/fonts/opentype/noto")
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
MAIN_FONTS = (
    ("NotoSans", _NOTO / "NotoSans-Regular.ttf", _NOTO / "NotoSans-Bold.ttf"),
    ("DejaVu", _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"),
)
#: Script (first word of the Unicode character name) -> fallback font.
SCRIPT_FONTS = {
    "ARABIC": ("NotoSansArabic", _NOTO / "NotoSansArabic-Regular.ttf", _NOTO / "NotoSansArabic-Bold.ttf"),
    "HEBREW": ("NotoSansHebrew", _NOTO / "NotoSansHebrew-Regular.ttf", _NOTO / "NotoSansHebrew-Bold.ttf"),
    "CJK": ("NotoSansCJK", _NOTO_CJK / "NotoSansCJK-Regular.ttc", _NOTO_CJK / "NotoSansCJK-Bold.ttc"),
}
_CJK_WORDS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH", "BOPOMOFO")

#: What the stamp across a certificate that is not current says.
STAMPS = {
    "revoked": ("REVOKED", "This certificate has been revoked by the issuer and is not valid."),
    "suspended": ("SUSPENDED", "This certificate is suspended by the issuer and not valid while suspended."),
    "superseded": ("SUPERSEDED", "This certificate was replaced by a newer one and is not valid."),
    "expired": ("EXPIRED", "This certificate has expired and is no longer valid."),
}


@dataclass(frozen=True)
class SignedView:
    """What a credential says, as signed (the holder page and the PDF show only this)."""

    id: str
    issuer_name: str
    given_name: str
    family_name: str
    profession: str
    profession_name: str
    license_jurisdiction: str
    license_number: str
    program_id: str
    program_name: str
    accreditation_body: str
    accreditation_id: str
    credits_available: float | None
    credits_earned: float | None
    valid_from: datetime
    valid_until: datetime

    @property
    def name(self) -> str:
        """The holder's full name."""
        return f"{self.given_name} {self.family_name}"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def signed_view(row: Credential) -> SignedView:
    """The credential's own claims, read from the token the issuer signed and stored.

    Raises :class:`vc.errors.InvalidClaims` or :class:`vc.errors.MalformedToken` if the stored
    token is not one of ours (it always is: the issuer wrote it).
    """
    _, payload = jose.split(row.token)
    checked = vcc.check_claims(payload)
    subject: dict[str, Any] = payload["credentialSubject"]
    lic = _object(subject.get("license"))
    achievement = _object(subject.get("achievement"))
    accreditation = _object(achievement.get("accreditation"))
    issuer = _object(payload.get("issuer"))
    profession = _str(subject.get("profession"))
    return SignedView(
        id=checked.uuid,
        issuer_name=_str(issuer.get("name")),
        given_name=_str(subject.get("givenName")),
        family_name=_str(subject.get("familyName")),
        profession=profession,
        profession_name=_str(subject.get("professionName")) or vcc.PROFESSIONS.get(profession, profession),
        license_jurisdiction=_str(lic.get("jurisdiction")),
        license_number=_str(lic.get("number")),
        program_id=_str(achievement.get("humanCode")),
        program_name=_str(achievement.get("name")),
        accreditation_body=_str(accreditation.get("body")),
        accreditation_id=_str(accreditation.get("id")),
        credits_available=_number(achievement.get("creditsAvailable")),
        credits_earned=_number(subject.get("creditsEarned")),
        valid_from=checked.valid_from,
        valid_until=checked.valid_until,
    )


def _date(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment.strftime('%B %Y')}"


def scripts_of(texts: Iterable[str]) -> set[str]:
    """The scripts among :data:`SCRIPT_FONTS` that ``texts`` use."""
    found: set[str] = set()
    for text in texts:
        for char in text:
            if ord(char) < 0x0590:
                continue
            name = unicodedata.name(char, "")
            if name.startswith("ARABIC"):
                found.add("ARABIC")
            elif name.startswith("HEBREW"):
                found.add("HEBREW")
            elif name.startswith(_CJK_WORDS):
                found.add("CJK")
    return found


def _fonts(pdf: FPDF, texts: Iterable[str]) -> str | None:
    """Load the main font and the fallbacks ``texts`` need; the main family, or ``None``
    when the system has no Unicode font (core Helvetica, Latin-1 only, is used then)."""
    family = None
    for name, regular, bold in MAIN_FONTS:
        if regular.exists() and bold.exists():
            pdf.add_font(name, "", str(regular))
            pdf.add_font(name, "B", str(bold))
            family = name
            break
    if family is None:
        return None
    fallbacks = []
    for script in sorted(scripts_of(texts)):
        # Only the bold face: names are set bold, and parsing a CJK collection takes a second.
        name, _, bold = SCRIPT_FONTS[script]
        if bold.exists():
            pdf.add_font(name, "B", str(bold))
            fallbacks.append(name)
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks, exact_match=False)
    pdf.set_text_shaping(True)
    return family


def render(
    ctx: IssuerContext, view: SignedView, qr_png: bytes, paper: str, *, state: str = "active",
    current_url: str | None = None, created: datetime | None = None,
) -> bytes:
    """The certificate of ``view`` as PDF bytes on ``paper`` (``a4`` or ``letter``); stamped
    when ``state`` is not ``active`` (``current_url``: the holder page of the successor).
    The same arguments give the same bytes: the document's creation date is ``created``
    (default: the signed ``validFrom``), never the clock."""
    pdf = FPDF(orientation="portrait", unit="mm", format=PAPERS[paper])
    pdf.set_creation_date(created or view.valid_from)
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 20, 20)
    pdf.set_title("Training certificate" if state == "active" else f"Training certificate ({state})")
    pdf.set_author(view.issuer_name or ctx.config.issuer_name)
    pdf.add_page()
    name = view.name
    family = _fonts(pdf, [name, view.program_name, view.issuer_name, view.accreditation_body])
    unicode_ok = family is not None
    family = family or "Helvetica"

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

    issuer_name = view.issuer_name or ctx.config.issuer_name
    pdf.set_y(28)
    if state != "active":
        word, sentence = STAMPS.get(state, (state.upper(), f"This certificate is {state} and is not valid."))
        pdf.set_text_color(180, 20, 20)
        line(f"{word}: {sentence}", 11, bold=True, gap=1)
        if current_url:
            line(f"Current certificate: {current_url}", 8, gap=3)
        else:
            pdf.ln(2)
    pdf.set_text_color(31, 79, 209)
    line(issuer_name, 13, bold=True, gap=6)
    pdf.set_text_color(20, 20, 24)
    line("Certificate of training", 26, bold=True, gap=8)
    line("This certifies that", 12)
    line(name, 24, bold=True)
    line(f"{view.profession_name}, license {view.license_jurisdiction}", 11, gap=6)
    line("has met every requirement of", 12)
    line(view.program_name or view.program_id, 17, bold=True, gap=4)
    if view.accreditation_body:
        suffix = f" ({view.accreditation_id})" if view.accreditation_id else ""
        line(f"Accredited by {view.accreditation_body}{suffix}", 11, gap=1)
    if view.credits_earned is not None:
        line(f"{view.credits_earned:g} CME credits", 11, gap=1)
    pdf.ln(5)
    line(
        f"Issued {_date(view.valid_from)} · Valid until {_date(view.valid_until)} (dates in UTC)",
        11,
        gap=2,
    )
    line(f"Issued by {issuer_name}", 11, gap=2)
    line(f"Credential id {view.id}", 9, gap=8)

    qr_top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png), x=(pdf.w - QR_MM) / 2, y=qr_top, w=QR_MM, h=QR_MM)
    pdf.set_y(qr_top + QR_MM + 4)
    line("Scan this QR code to see the live status of this certificate", 11, bold=True, gap=1)
    line("(current, suspended, revoked or expired) on an independent verification page:", 10, gap=1)
    line(ctx.verify_url(view.id), 8, gap=6)
    pdf.set_text_color(80, 83, 94)
    line(
        "A training certification, not a license to practise. Check the practitioner's "
        "license with the state board.",
        9,
    )
    if state != "active":
        word = STAMPS.get(state, (state.upper(), ""))[0]
        pdf.set_font(family, "B", 72)
        with pdf.local_context(text_color=(200, 30, 30), fill_opacity=0.35):
            with pdf.rotation(angle=35, x=pdf.w / 2, y=pdf.h / 2):
                stamp_width = pdf.get_string_width(word)
                pdf.text(pdf.w / 2 - stamp_width / 2, pdf.h / 2 + 10, word)
    return bytes(pdf.output())


def _fonts_present() -> list[str]:
    """The font files of :data:`MAIN_FONTS` and :data:`SCRIPT_FONTS` this system has (they
    change what a certificate looks like, so they are part of its ETag)."""
    paths = [p for _, regular, bold in (*MAIN_FONTS, *SCRIPT_FONTS.values()) for p in (regular, bold)]
    return [str(p) for p in paths if p.exists()]


@dataclass(frozen=True)
class Certificate:
    """Everything one certificate PDF is made of, known without rendering it."""

    row: Credential
    paper: str
    #: ``active``, or what the stamp says: revoked, suspended, superseded, expired.
    state: str
    #: The holder page of the current credential, printed on a superseded one.
    current_url: str | None
    verify_url: str
    issuer_name: str

    @property
    def etag(self) -> str:
        """A strong entity tag (unquoted) of the rendered bytes: SHA-256 of the renderer,
        the signed token and every other input of :func:`render`."""
        inputs = [RENDERER, _fonts_present(), "pdf", self.paper, self.state, self.current_url,
                  self.verify_url, self.issuer_name, vcc.timestamp(self.row.issued_at),
                  hashlib.sha256(self.row.token.encode()).hexdigest()]
        return "pdf-" + hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:40]

    @property
    def filename(self) -> str:
        """The name a download is saved under."""
        return f"certificate-{self.row.id}-{self.paper}.pdf"

    def render(self, ctx: IssuerContext) -> bytes:
        """The PDF: what was signed, stamped when not active; the same bytes every time (the
        last :data:`RENDERED_KEPT` are kept in memory by ETag)."""
        tag = self.etag
        with _rendered_lock:
            kept = _rendered.get(tag)
            if kept is not None:
                _rendered.move_to_end(tag)
                return kept
        content = render(ctx, signed_view(self.row), qr.png(self.verify_url), self.paper, state=self.state,
                         current_url=self.current_url, created=self.row.issued_at)
        with _rendered_lock:
            _rendered[tag] = content
            while len(_rendered) > RENDERED_KEPT:
                _rendered.popitem(last=False)
        return content


def certificate(session: Session, ctx: IssuerContext, credential_id: str, paper: str) -> Certificate:
    """The certificate of a credential on ``paper`` (``a4`` or ``letter``), ready to render;
    its ETag is known without rendering. Raises :class:`NotFound`."""
    if paper not in PAPERS:
        raise NotFound(f"no paper size {paper!r} (use a4 or letter)")
    row = get_credential(session, credential_id)
    state = effective_status(row, ctx.now())
    current_url = None
    if state != "active":
        current = public_status(session, ctx, row.id).get("current")
        current_url = current.get("holder_url") if isinstance(current, dict) else None
    return Certificate(row=row, paper=paper, state=state, current_url=current_url,
                       verify_url=ctx.verify_url(row.id), issuer_name=ctx.config.issuer_name)
