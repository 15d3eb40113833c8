"""PAdES signature on the PDF itself (pyHanko), by an issuing certificate under a local CA.

The CA and the issuing certificate are generated under $SHEBAO_HOME/keys/pades on first
use (private keys mode 0600). The signature widget covers the printed seal on page 1, so
a PDF reader (and poppler's `pdfsig`) shows the seal as the signature.
"""

from __future__ import annotations

import fcntl
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certificates import config
from certificates.keys import utcnow, write_private
from certificates.render import seal_box_points

FIELD_NAME = "ElectronicSeal"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, config.ISSUER_NAME),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class PadesMaterial:
    def __init__(self, directory: Path | None = None):
        self.dir = Path(directory or config.keys_dir() / "pades")
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ca_cert = self.dir / "ca.crt"
        self.ca_key = self.dir / "ca.key"
        self.signer_cert = self.dir / "issuing.crt"
        self.signer_key = self.dir / "issuing.key"

    def ensure(self) -> None:
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not self.signer_cert.exists():
                self._generate()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _generate(self) -> None:
        now = utcnow()
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("示例市社会保险电子证照根CA (DEMO)")
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{config.ISSUER_NAME} 电子印章"))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write_private(self.ca_key, _pem_key(ca_key))
        write_private(self.signer_key, _pem_key(key))
        self.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.signer_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


_signer_cache: dict[str, Any] = {}  # (pyhanko SimpleSigner, bytes to reserve) by certificate path
# Room in the signature placeholder beyond the certificates the CMS carries: signed attributes,
# signer info, the signature value (72 bytes for P-256, 512 for RSA-4096), algorithm ids.
CMS_OVERHEAD = 2048


def sign_pdf(pdf_bytes: bytes, cert_id: str, material: PadesMaterial | None = None) -> bytes:
    from pyhanko.pdf_utils.content import RawContent
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.layout import BoxConstraints
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle

    material = material or PadesMaterial()
    material.ensure()
    cache_key = str(material.signer_cert)
    cached = _signer_cache.get(cache_key)
    if cached is None:
        signer = signers.SimpleSigner.load(
            str(material.signer_key), str(material.signer_cert), ca_chain_files=(str(material.ca_cert),)
        )
        # Sized from the certificates, so pyHanko does not sign a dummy CMS each time to measure it
        # (in hex digits, as the placeholder is written).
        certs = len(signer.signing_cert.dump()) + sum(len(c.dump()) for c in signer.cert_registry)
        reserved = 2 * (certs + CMS_OVERHEAD)
        cached = _signer_cache[cache_key] = (signer, reserved)
    signer, reserved = cached
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=f"电子证明 {cert_id}",
        location=config.ISSUER_NAME,
        name=config.ISSUER_NAME,
    )
    box = seal_box_points()
    spec = fields.SigFieldSpec(FIELD_NAME, on_page=0, box=box)
    x1, y1, x2, y2 = box
    # The seal is printed in the page itself; the widget's own appearance is empty (no
    # unembedded standard font), so a reader shows the printed seal as the signature.
    empty = StaticStampStyle(border_width=0, background=RawContent(b"", box=BoxConstraints(x2 - x1, y2 - y1)))
    pdf_signer = signers.PdfSigner(meta, signer, new_field_spec=spec, stamp_style=empty)
    out = io.BytesIO()
    pdf_signer.sign_pdf(writer, bytes_reserved=reserved, output=out)
    return out.getvalue()
