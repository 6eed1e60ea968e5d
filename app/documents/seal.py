"""Seal signed packets with the municipality's certificate (pyhanko) and verify them.

A sealed packet is *certified* with "no changes allowed": any byte changed, added or
removed after sealing is detectable. The demo certificate is self-signed and generated
into ``instance/seal/`` on first use; a real deployment puts the municipality's own key
and certificate (e.g. from LGPKI) there instead.
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger("app.documents")

SEAL_DIR = "seal"
KEY_FILE = "seal-key.pem"
CERT_FILE = "seal-cert.pem"
FIELD_NAME = "MunicipalSeal"


@dataclass(frozen=True)
class SealFiles:
    """Where the sealing key and certificate live."""

    key: Path
    cert: Path


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying a sealed PDF: valid or not, and why, for a person to read."""

    valid: bool
    reason: str
    signer: str | None = None
    signed_at: datetime | None = None

    def __str__(self) -> str:
        return f"{'valid' if self.valid else 'invalid'}: {self.reason}"


def ensure_seal(instance_path: Path | str, municipality: str = "デモ市") -> SealFiles:
    """Return the seal key and certificate, generating a self-signed demo pair once.

    The app calls this at start-up. Two processes (or threads) starting at once must not
    make two pairs or read a half-written key: generation holds an exclusive lock on
    ``instance/seal/.lock`` and checks again inside it, and each file is written private
    (0600) under a temporary name, then renamed; the certificate comes last, so a pair
    that is there is whole.
    """
    folder = Path(instance_path) / SEAL_DIR
    files = SealFiles(folder / KEY_FILE, folder / CERT_FILE)
    if files.key.exists() and files.cert.exists():
        return files
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    lock = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (files.key.exists() and files.cert.exists()):
            key_pem, cert_pem = _demo_pair(municipality)
            _write_private(files.key, key_pem)
            _write_private(files.cert, cert_pem)
            log.info("documents: generated a self-signed demo seal certificate in %s", folder)
    finally:
        os.close(lock)  # closing releases the lock
    return files


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by this user only from the start."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _demo_pair(municipality: str) -> tuple[bytes, bytes]:
    """Return a new EC key and its self-signed demo certificate, both as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, municipality),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{municipality} 公印（デモ用・自己署名）"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def seal_pdf(
    pdf: bytes,
    instance_path: Path | str,
    *,
    municipality: str = "デモ市",
    reason: str = "書かない窓口で作成し、届出人が署名した書類",
) -> bytes:
    """Certify ``pdf`` with the municipality's seal so that any later change is detectable."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    files = ensure_seal(instance_path, municipality)
    signer = signers.SimpleSigner.load(str(files.key), str(files.cert))
    if signer is None:
        raise RuntimeError(f"cannot load the seal key or certificate in {files.key.parent}")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=reason,
        location=municipality,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=out)
    return out.getvalue()


def verify_pdf(pdf: bytes, instance_path: Path | str) -> Verdict:
    """Check that ``pdf`` carries the municipality's seal and is unchanged since sealing."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    cert_path = Path(instance_path) / SEAL_DIR / CERT_FILE
    if not cert_path.exists():
        return Verdict(False, f"no seal certificate to check against ({cert_path} is missing)")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        return Verdict(False, f"the file is not a readable PDF or was damaged ({exc})")
    if not sigs:
        return Verdict(
            False, "the PDF carries no seal (it was never sealed, or the seal was removed)"
        )
    sig = sigs[-1]
    trust = load_cert_from_pemder(str(cert_path))
    context = ValidationContext(trust_roots=[trust], allow_fetching=False)
    try:
        status = validate_pdf_signature(sig, context)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        return Verdict(False, f"the seal cannot be checked: the file was damaged ({exc})")
    signer = status.signing_cert.subject.human_friendly
    when = status.signer_reported_dt
    if not status.intact:
        return Verdict(False, "the content was changed after sealing (digest mismatch)", signer)
    if not status.valid:
        return Verdict(False, "the seal's cryptographic signature is not valid", signer)
    if not status.trusted:
        return Verdict(
            False, "sealed with a certificate that is not this municipality's seal", signer
        )
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return Verdict(False, "data was added to the file after sealing", signer, when)
    return Verdict(
        True, f"sealed by {signer}, unchanged since {when:%Y-%m-%d %H:%M %Z}", signer, when
    )
