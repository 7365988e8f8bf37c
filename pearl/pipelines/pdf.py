"""The printable quote (报价单) as a PDF, drawn with reportlab's built-in CID font STSong-Light so
Chinese prints without shipping a font file (the reader's PDF viewer supplies the glyphs)."""

from __future__ import annotations

import io
from decimal import Decimal

from django.http import HttpResponse
from django.utils import formats
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from pearl.pipelines.selectors import QuoteDocument

FONT = "STSong-Light"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _money(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def quote_pdf(document: QuoteDocument) -> bytes:
    """The quote on A4: seller and title, buyer and 开票信息, lines with totals, valid-until date, note,
    and a signature line for each side."""
    font = _font()
    text = ParagraphStyle("text", fontName=font, fontSize=10, leading=15)
    small = ParagraphStyle("small", parent=text, fontSize=9, leading=13)
    title = ParagraphStyle("title", parent=text, fontSize=18, leading=24, alignment=TA_CENTER)
    right = ParagraphStyle("right", parent=text, alignment=TA_RIGHT)
    quote = document.quote

    def p(value: str, style: ParagraphStyle = text) -> Paragraph:
        return Paragraph(value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), style)

    story: list[Flowable] = [
        p(document.seller, ParagraphStyle("seller", parent=text, fontSize=12, alignment=TA_CENTER)),
        p(_("Quotation"), title),
        Spacer(1, 4 * mm),
        p(_("No.: %(number)s") % {"number": quote.number}, right),
        p(_("Date: %(date)s") % {"date": formats.date_format(quote.created_at, "Y-m-d")}, right),
        Spacer(1, 3 * mm),
        p(_("To: %(buyer)s") % {"buyer": document.buyer}),
    ]
    billing = document.billing
    if billing is not None:
        story.append(p(_("Invoice title: %(title)s") % {"title": billing.title}, small))
        for label, value in (
            (_("Taxpayer id"), billing.tax_id),
            (_("Address and phone"), " ".join(v for v in (billing.address, billing.phone) if v)),
            (_("Bank and account"), " ".join(v for v in (billing.bank, billing.account) if v)),
        ):
            if value:
                story.append(p(f"{label}: {value}", small))
    story.append(p(_("Opportunity: %(name)s") % {"name": quote.opportunity.name}, small))
    story.append(Spacer(1, 4 * mm))
    rows: list[list[Flowable | str]] = [
        [
            p(h, small)
            for h in (_("No."), _("Item"), _("Quantity"), _("Unit"), _("Unit price"), _("Discount"), _("Amount"))
        ]
    ]
    for index, line in enumerate(document.lines, start=1):
        rows.append(
            [
                p(str(index), small),
                p(line.description, small),
                p(_quantity(line.quantity), small),
                p(line.unit, small),
                p(_money(line.unit_price), small),
                p(_money(line.discount) if line.discount else "", small),
                p(_money(line.amount), small),
            ]
        )
    rows.append(["", p(_("Subtotal"), small), "", "", "", "", p(_money(quote.subtotal), small)])
    if quote.discount:
        rows.append(["", p(_("Discount"), small), "", "", "", "", p("-" + _money(quote.discount), small)])
    rows.append(["", p(_("Total (CNY)"), text), "", "", "", "", p(_money(quote.total), text)])
    table = Table(rows, colWidths=[10 * mm, 62 * mm, 18 * mm, 14 * mm, 24 * mm, 22 * mm, 28 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [table, Spacer(1, 4 * mm)]
    if quote.valid_until:
        story.append(p(_("Valid until: %(date)s") % {"date": quote.valid_until.isoformat()}))
    if quote.note:
        story.append(p(_("Note: %(note)s") % {"note": quote.note}))
    story += [
        Spacer(1, 14 * mm),
        Table(
            [[p(_("Seller (seal / signature): ____________________")),
              p(_("Buyer (seal / signature): ____________________"))],
             [p(_("Date: ________________"), small), p(_("Date: ________________"), small)]],
            colWidths=[89 * mm, 89 * mm],
        ),
    ]  # fmt: skip
    out = io.BytesIO()
    SimpleDocTemplate(
        out, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
        title=f"{_('Quotation')} {quote.number}", author=document.seller,
    ).build(story)  # fmt: skip
    return out.getvalue()


def pdf_response(document: QuoteDocument) -> HttpResponse:
    response = HttpResponse(quote_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.quote.number}.pdf"'
    return response
