"""Altered PDFs as an adversary makes them, for the verification tests (not collected).

Each builder takes the bytes of a genuine issued PDF and returns forged bytes. The
incremental updates are written with pyHanko the way any PDF editor appends changes.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw


def byte_flip_in_stream(pdf: bytes) -> bytes:
    """One byte changed in the middle of the first compressed stream (inside the signed range)."""
    start = pdf.index(b"stream", pdf.index(b"/Filter")) + len(b"stream\n")
    end = pdf.index(b"endstream", start)
    data = bytearray(pdf)
    data[(start + end) // 2] ^= 0x01
    return bytes(data)


def corrupt_cms(pdf: bytes) -> bytes:
    """One hex digit of the CMS signature value changed (the ECDSA signature sits at its end)."""
    match = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", pdf)
    assert match is not None
    hexdata = match.group(1).rstrip(b"0")
    pos = match.start(1) + len(hexdata) - 12
    data = bytearray(pdf)
    data[pos] = ord("0") if data[pos] != ord("0") else ord("1")
    return bytes(data)


def _append(pdf: bytes, change) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _figure_image() -> Image.Image:
    image = Image.new("RGB", (240, 60), "white")
    ImageDraw.Draw(image).text((8, 8), "99", fill="black")
    return image


def appended_image(pdf: bytes) -> bytes:
    """An incremental update drawing an image over page 1 (the text layer is untouched)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.images import pil_image

    def change(writer) -> None:
        image_ref = pil_image(_figure_image(), writer)
        content = generic.StreamObject(stream_data=b"q 180 0 0 45 300 600 cm /Forged Do Q")
        resources = generic.DictionaryObject(
            {generic.NameObject("/XObject"): generic.DictionaryObject({generic.NameObject("/Forged"): image_ref})}
        )
        writer.add_stream_to_page(0, writer.add_object(content), resources=resources)

    return _append(pdf, change)


def _appearance(writer, width: int, height: int):
    from pyhanko.pdf_utils import generic

    stream = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject(
                [
                    generic.NumberObject(0),
                    generic.NumberObject(0),
                    generic.NumberObject(width),
                    generic.NumberObject(height),
                ]
            ),
        },
        stream_data=f"1 1 1 rg 0 0 {width} {height} re f 1 0 0 rg 4 4 {width - 8} {height - 8} re f".encode(),
    )
    return writer.add_object(stream)


def _add_annotation(writer, annot: dict, *, form_field: bool = False) -> None:
    from pyhanko.pdf_utils import generic

    page_ref = writer.find_page_for_modification(0)[0]
    page = page_ref.get_object()
    annot_obj = generic.DictionaryObject({generic.NameObject(k): v for k, v in annot.items()})
    annot_obj[generic.NameObject("/P")] = page_ref
    ref = writer.add_object(annot_obj)
    annots = page.get("/Annots")
    if annots is None:
        page[generic.NameObject("/Annots")] = generic.ArrayObject([ref])
    else:
        annots = annots.get_object() if isinstance(annots, generic.IndirectObject) else annots
        annots.append(ref)
        if isinstance(page.raw_get("/Annots"), generic.IndirectObject):
            writer.mark_update(page.raw_get("/Annots"))
    writer.update_container(page)
    if form_field:
        acroform = writer.root["/AcroForm"]
        acroform["/Fields"].append(ref)
        writer.update_container(acroform)


def _rect(x1: int, y1: int, x2: int, y2: int):
    from pyhanko.pdf_utils import generic

    return generic.ArrayObject([generic.NumberObject(v) for v in (x1, y1, x2, y2)])


def appended_annotation(pdf: bytes) -> bytes:
    """An incremental update adding a stamp annotation over a figure."""
    from pyhanko.pdf_utils import generic

    def change(writer) -> None:
        ap = generic.DictionaryObject({generic.NameObject("/N"): _appearance(writer, 120, 30)})
        _add_annotation(
            writer,
            {
                "/Type": generic.NameObject("/Annot"),
                "/Subtype": generic.NameObject("/Stamp"),
                "/Rect": _rect(300, 600, 420, 630),
                "/F": generic.NumberObject(4),
                "/AP": ap,
            },
        )

    return _append(pdf, change)


def appended_form_field(pdf: bytes) -> bytes:
    """An incremental update adding a filled text form field over a figure."""
    from pyhanko.pdf_utils import generic

    def change(writer) -> None:
        ap = generic.DictionaryObject({generic.NameObject("/N"): _appearance(writer, 120, 30)})
        _add_annotation(
            writer,
            {
                "/Type": generic.NameObject("/Annot"),
                "/Subtype": generic.NameObject("/Widget"),
                "/FT": generic.NameObject("/Tx"),
                "/T": generic.TextStringObject("Forged"),
                "/V": generic.TextStringObject("99"),
                "/Rect": _rect(300, 600, 420, 630),
                "/F": generic.NumberObject(4),
                "/AP": ap,
            },
            form_field=True,
        )

    return _append(pdf, change)


def sign_with(pdf: bytes, cert_id: str, material) -> bytes:
    """PAdES-sign bytes with some PAdES material (the issuer's own, or a forger's look-alike)."""
    from certificates import pades

    return pades.sign_pdf(pdf, cert_id, material)


def pdfsig_verdict(path: Path) -> str:
    """poppler's judgement in our words: valid | modified | digest_mismatch | invalid | unsigned."""
    out = subprocess.run(["pdfsig", "-nocert", str(path)], capture_output=True, text=True).stdout
    if "does not contain any signatures" in out:
        return "unsigned"
    if "Digest Mismatch" in out:
        return "digest_mismatch"
    if "Signature is Invalid" in out:
        return "invalid"
    if "Signature is Valid" in out:
        return "valid" if "Total document signed" in out and "Not total" not in out else "modified"
    return "unknown"


def unsigned_pages(pdf: bytes) -> bytes:
    """An issued file before its signature revision: WeasyPrint's pages and the QR code's update
    (what a forger holding the issuer's PDF key would start from)."""
    import re

    ends = [m.end() for m in re.finditer(rb"%%EOF\r?\n?", pdf)]
    assert len(ends) >= 3  # draft, QR code, signature
    return pdf[: ends[1]]
