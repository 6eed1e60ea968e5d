"""The video counter in two real browsers: the resident holds a pre-entry QR to the camera.

The resident's Chromium has a fake camera fed a .y4m file made here from the QR the
pre-entry page gave; staff's Chromium has a fake camera too. Both join the call inside
their pages through the real server (gunicorn, media on its loop); staff press スキャン,
see the name to confirm, confirm, and find the facts stored as 事前入力.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.e2e.conftest import PASSWORD, ROOT

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 640, 480
CALL_TIMEOUT_MS = 30_000

# Runs inside the live server's environment (its instance, database and keys).
OPEN_CASE = """
import json, sys
from datetime import datetime
from sqlalchemy import select
from app import create_app
from app.extensions import db
from app.models import StaffUser
from app.services.cases import open_case
from app.services.joining import issue_join_link

app = create_app()
with app.app_context():
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == sys.argv[1]))
    now = datetime.now()
    case = open_case(staff.id, ["move_in"], "remote", now.date(), now, staff.username)
    link = issue_join_link(case, actor=staff.username, now=now, minutes=30)
    print(json.dumps({"case_id": case.id, "token": link.token, "pin": link.pin}))
"""


def write_y4m(path: Path, frame_bgr: np.ndarray, frames: int = 10, fps: int = 20) -> None:
    """Write a YUV4MPEG2 (4:2:0) file showing ``frame_bgr``; Chromium loops it as a camera."""
    i420 = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2YUV_I420)  # Y plane, then U, then V
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii")
    with path.open("wb") as out:
        out.write(header)
        for _ in range(frames):
            out.write(b"FRAME\n")
            out.write(i420.tobytes())


def qr_camera_frame(png: bytes) -> np.ndarray:
    """Put the QR image into a 640×480 frame, as a phone held up in front of a grey wall."""
    qr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    side = 440
    qr = cv2.resize(qr, (side, side), interpolation=cv2.INTER_NEAREST)
    frame = np.full((HEIGHT, WIDTH), 110, np.uint8)
    top, left = (HEIGHT - side) // 2, (WIDTH - side) // 2
    frame[top : top + side, left : left + side] = qr
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def make_preentry_qr(page, base_url: str) -> bytes:
    """Fill in the public pre-entry page as a resident would; return the QR's PNG."""
    page.goto(base_url + "/pre-entry")
    page.get_by_label("窓口で行う手続").select_option("move_in")
    page.get_by_label("氏名").fill("山田 花子")
    page.get_by_label("ふりがな").fill("やまだ はなこ")
    page.get_by_label("生年月日").fill("昭和25年5月5日")
    page.get_by_label("郵便番号").fill("123-4567")
    page.get_by_label("住所").fill("みどり市中央1丁目2番3号")
    page.get_by_role("button", name="QRコードを作る").click()
    page.get_by_role("heading", name="QRコードができました").wait_for()
    src = page.locator(".preentry-qr img").get_attribute("src")
    assert src and src.startswith("data:image/png;base64,")
    return base64.b64decode(src.split(",", 1)[1])


def open_case_with_link(server, username: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", OPEN_CASE, username],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def shoot(page, name: str) -> None:
    """Keep a screenshot when KAKANAI_SCREENSHOTS names a folder (to look at the pages)."""
    folder = os.environ.get("KAKANAI_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def call_staff(call_server) -> str:
    """A counter account on the call server."""
    call_server.flask("users", "create", "--role", "counter", "--password", PASSWORD, "e2e-call")
    return "e2e-call"


def join_call(server, username: str, launch_with_camera, camera_file: Path | None):
    """Open a case, have staff start the call and the resident join; return both pages."""
    case = open_case_with_link(server, username)

    # Staff: log in, open the case, start the call.
    staff_browser = launch_with_camera()
    staff = staff_browser.new_context(
        locale="ja-JP", viewport={"width": 1280, "height": 900}
    ).new_page()
    staff.goto(server.url + "/login")
    staff.get_by_label("職員ID").fill(username)
    staff.get_by_label("パスワード").fill(PASSWORD)
    staff.get_by_role("button", name="ログイン").click()
    staff.wait_for_url(server.url + "/counter/")
    staff.goto(f"{server.url}/counter/cases/{case['case_id']}")
    staff.get_by_role("button", name="通話を開始").click()

    # Resident: open the link, type the PIN; the call starts by itself.
    resident_browser = launch_with_camera(camera_file)
    resident = resident_browser.new_context(
        locale="ja-JP", viewport={"width": 1100, "height": 900}
    ).new_page()
    resident.goto(f"{server.url}/join/{case['token']}")
    resident.get_by_label("暗証番号（6桁の数字）").fill(case["pin"])
    resident.get_by_role("button", name="入る").click()
    resident.wait_for_url(server.url + "/r/")

    for side in (staff, resident):
        wait_for_state(side, "connected")
        assert side.locator('#call [data-call="state"]').inner_text() == "通話中"
    # Each side receives the other's video (the server relays it).
    for side in (staff, resident):
        wait_for_remote_video(side)
        remote = side.locator('#call video[data-call="remote"]')
        assert remote.evaluate("v => v.srcObject.getAudioTracks().length") == 1  # voice too
    return staff, resident


def wait_for_remote_video(page, timeout_s: float = CALL_TIMEOUT_MS / 1000) -> None:
    """Wait until the other side's video has a picture (polled: the CSP forbids eval)."""
    video = page.locator('#call video[data-call="remote"]')
    deadline = time.monotonic() + timeout_s
    while video.evaluate("v => v.videoWidth") == 0:
        assert time.monotonic() < deadline, "no picture from the other side"
        page.wait_for_timeout(200)


def wait_for_state(page, state: str, timeout: int = CALL_TIMEOUT_MS) -> None:
    page.locator(f'#call [data-call="state"][data-state="{state}"]').wait_for(timeout=timeout)


def test_staff_scan_a_preentry_qr_held_up_to_the_residents_camera(
    call_server, call_staff, page, launch_with_camera, tmp_path
):
    # The resident made a pre-entry QR at home (on the public page, no login).
    png = make_preentry_qr(page, call_server.url)
    camera_file = tmp_path / "resident-camera.y4m"
    write_y4m(camera_file, qr_camera_frame(png))
    staff, resident = join_call(call_server, call_staff, launch_with_camera, camera_file)

    # Staff scan: the name appears for confirmation; nothing is stored yet.
    staff.get_by_role("button", name="スキャン").click()
    card = staff.locator(".scan-card.scan-pre_entry")
    card.wait_for(timeout=CALL_TIMEOUT_MS)
    assert "山田 花子" in card.inner_text()
    assert "昭和25年5月5日" in card.inner_text()
    assert staff.locator("#questions .prov-pre_entry").count() == 0
    shoot(staff, "staff-call-scan")
    shoot(resident, "resident-call")

    # Confirm: the facts are stored and the interview shows them as 事前入力.
    card.get_by_role("button", name="この内容で入力する（事前入力）").click()
    staff.locator(".scan-msg.ok").wait_for()
    assert "保存しました" in staff.locator(".scan-msg.ok").inner_text()
    staff.locator("#questions .prov-pre_entry").first.wait_for()
    assert "山田 花子" in staff.locator("#questions").inner_text()

    # A document still from the resident's camera lands in the staff page's attachments.
    staff.get_by_role("button", name="書類を撮影").click()
    staff.locator(".thumbs img").first.wait_for()
    assert staff.locator('[data-call="attachment-count"]').inner_text() == "1件"
    shoot(staff, "staff-after-confirm")

    # Muting: the button says what it will do next.
    resident.get_by_role("button", name="マイクを切る").click()
    assert (
        resident.get_by_role("button", name="マイクを入れる").get_attribute("aria-pressed")
        == "true"
    )


def test_after_a_drop_both_panes_say_so_and_reconnect(call_server, call_staff, launch_with_camera):
    staff, resident = join_call(call_server, call_staff, launch_with_camera, None)
    # The server goes away (a restart): every connection is lost at once.
    call_server.stop()
    try:
        for side in (staff, resident):
            wait_for_state(side, "lost")
            assert side.locator('#call [data-call="state"]').inner_text() == "切断—再接続しています"
        shoot(resident, "resident-reconnecting")
    finally:
        call_server.start()
    # Back: each page makes a new offer on its own, and the call goes on.
    for side in (staff, resident):
        wait_for_state(side, "connected", timeout=60_000)
    for side in (staff, resident):
        wait_for_remote_video(side)


def test_a_second_tab_of_the_same_case_takes_the_call_over_once(
    call_server, call_staff, launch_with_camera
):
    staff, resident = join_call(call_server, call_staff, launch_with_camera, None)
    second = staff.context.new_page()
    second.goto(staff.url)
    second.get_by_role("button", name="通話を開始").click()
    wait_for_state(second, "connected")
    wait_for_state(staff, "elsewhere")
    assert "別の画面" in staff.locator('#call [data-call="state"]').inner_text()
    # No tug of war: the new tab keeps the call, and the resident stays connected.
    second.wait_for_timeout(4000)
    assert second.locator('#call [data-call="state"]').get_attribute("data-state") == "connected"
    assert resident.locator('#call [data-call="state"]').get_attribute("data-state") == "connected"
