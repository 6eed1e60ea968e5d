"""Case attachments (添付): document stills from the resident's video, for staff only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from app.extensions import db
from app.models import Case, CaseAttachment
from app.scanning.document import document_still
from app.services.cases import CaseError, audit, cipher

JPEG_QUALITY = 85  # text stays legible; a 1600 px page is ~200-400 kB


def attach_still(
    case: Case, frame: NDArray[np.uint8], *, actor: str, now: datetime
) -> CaseAttachment:
    """Straighten a document still when its page is found, store it encrypted, commit."""
    still = document_still(frame)
    ok, jpeg = cv2.imencode(".jpg", still.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise CaseError(
            "still_failed", "画像を保存できませんでした。もう一度撮影してください。", status=500
        )
    number = (
        db.session.scalar(
            select(func.max(CaseAttachment.number)).where(CaseAttachment.case_id == case.id)
        )
        or 0
    ) + 1
    height, width = still.image.shape[:2]
    attachment = CaseAttachment(
        case_id=case.id,
        number=number,
        kind="still",
        content_type="image/jpeg",
        image_enc=cipher().seal_bytes(jpeg.tobytes()),
        width=int(width),
        height=int(height),
        straightened=still.straightened,
        taken_by=actor,
        taken_at=now,
    )
    db.session.add(attachment)
    audit(
        case.id,
        actor,
        "attachment_added",
        {"number": number, "straightened": still.straightened},
        now,
    )
    db.session.commit()
    return attachment


def case_attachments(case: Case) -> list[CaseAttachment]:
    """Return a case's attachments, oldest first."""
    return list(
        db.session.scalars(
            select(CaseAttachment)
            .where(CaseAttachment.case_id == case.id)
            .order_by(CaseAttachment.number)
        )
    )


def read_attachment(case: Case, number: int, *, actor: str, now: datetime) -> CaseAttachment:
    """Return one attachment of a case and audit that staff viewed it.

    :raises CaseError: ``not_found`` when the case has no attachment of that number.
    """
    attachment = db.session.scalar(
        select(CaseAttachment).where(
            CaseAttachment.case_id == case.id, CaseAttachment.number == number
        )
    )
    if attachment is None:
        raise CaseError("not_found", "この添付画像はありません。", status=404)
    audit(case.id, actor, "attachment_viewed", {"number": number}, now)
    db.session.commit()
    return attachment


def attachment_image(attachment: CaseAttachment) -> bytes:
    """Return an attachment's image bytes, decrypted."""
    return cipher().open_bytes(attachment.image_enc)


NO_VIDEO = "住民の映像が届いていません。住民側の通話がつながり、カメラが有効になっているか確認してください。"
MEDIA_BUSY = "通話サーバーが応答しません。しばらく待ってから、もう一度お試しください。"


@contextmanager
def video_call() -> Iterator[Any]:
    """Yield the media server, turning a missing video or a busy server into a CaseError."""
    # Imported here: the media server pulls in WebRTC, which only the video counter needs.
    from app.media.loop import MediaTimeout
    from app.media.server import NoVideo, media_server

    try:
        yield media_server()
    except NoVideo:
        raise CaseError("no_video", NO_VIDEO, status=409) from None
    except MediaTimeout:
        raise CaseError("media_busy", MEDIA_BUSY, status=503) from None


def take_still(case: Case, *, actor: str, now: datetime) -> CaseAttachment:
    """Take a still of the resident's video and attach it to the case, committed.

    :raises CaseError: no video from the resident (409), the media server is busy (503),
        or the image could not be stored (500).
    """
    with video_call() as server:
        frame = server.take_still(case.id)
    return attach_still(case, frame, actor=actor, now=now)
