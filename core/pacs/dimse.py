"""What both ends of an association share: the SOP classes we take and give, the transfer
syntaxes our reader decodes, the status words, TLS, and how a film is named in a log."""

from __future__ import annotations

import re
import ssl
from typing import Any

from pydicom.uid import (
    JPEG2000,
    UID,
    ComputedRadiographyImageStorage,
    DeflatedExplicitVRLittleEndian,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pydicom.uid import JPEGLossless as JPEGLosslessP14

from core.pacs.settings import NodeSettings, PacsError

#: The films we classify: chest radiographs as a PACS stores them. Anything else (CT, an
#: SR, our own captures) is refused when the association is negotiated.
FILM_CLASSES = (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
)

#: Uncompressed first (no decoder process needed), then what core.files.reader decodes.
FILM_SYNTAXES = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGLosslessSV1,
    JPEGLosslessP14,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    RLELossless,
)

#: The Verification SOP class (C-ECHO).
VERIFICATION = UID("1.2.840.10008.1.1")
#: Study Root Query/Retrieve Information Model (PS3.4 C.6.2): FIND, MOVE, GET.
STUDY_FIND = UID("1.2.840.10008.5.1.4.1.2.2.1")
STUDY_MOVE = UID("1.2.840.10008.5.1.4.1.2.2.2")
STUDY_GET = UID("1.2.840.10008.5.1.4.1.2.2.3")

SUCCESS = 0x0000
#: PS3.4 B.2.3: coercion of data elements, elements discarded, dataset does not match the
#: SOP class: stored, with a warning.
WARNINGS = (0xB000, 0xB006, 0xB007)
#: PS3.4 B.2.3 "Error: cannot understand": the dataset could not be decoded.
CANNOT_UNDERSTAND = 0xC210
#: "Refused: out of resources" (our disk is full, say).
OUT_OF_RESOURCES = 0xA700
#: PS3.7 C.1.2: the sub-operations of a C-GET or C-MOVE are still going.
PENDING = (0xFF00, 0xFF01)


def status_text(status: int) -> str:
    """A status word as the standard names it, for a message."""
    from pynetdicom.status import code_to_category

    try:
        category = code_to_category(status)
    except Exception:  # an unknown code
        category = "Unknown"
    return f"0x{status:04X} ({category})"


_UID = re.compile(r"^[0-9.]{1,64}$")


def safe_uid(value: Any) -> str | None:
    """``value`` when it is a UID we can name a file by (digits and dots), else None."""
    text = str(value or "").strip().rstrip("\x00")
    return text if _UID.match(text) and ".." not in text and not text.startswith(".") else None


def describe_film(ds: Any, uid: str, fields: tuple[str, ...]) -> str:
    """How a log line names a film: its SOP Instance UID, and only the header fields the
    administrator chose (``log_fields``), never the patient's data by default."""
    extra = []
    for name in fields:
        value = getattr(ds, name, None) if ds is not None else None
        if value not in (None, ""):
            extra.append(f"{name}={value}")
    return uid + (f" ({', '.join(extra)})" if extra else "")


def tls_context(settings: NodeSettings, server: bool) -> ssl.SSLContext | None:
    """The TLS context for our end of an association, or None without TLS. A server asks
    its callers for a certificate signed by ``tls_ca`` when one is given."""
    if not settings.tls:
        return None
    purpose = ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH
    try:
        ctx = ssl.create_default_context(purpose, cafile=settings.tls_ca or None)
        ctx.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise PacsError(f"cannot use the TLS certificate {settings.tls_cert}: {exc}") from None
    if server and settings.tls_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
    if not server:
        # Peers are named by address in a hospital network, seldom by a name on their
        # certificate: the CA is what is checked.
        ctx.check_hostname = False
    return ctx
