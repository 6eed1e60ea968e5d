"""Joining from home: the 8-character code typed at /join, and the staff page's join box."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import zxingcpp
from PIL import Image

from app.extensions import db
from app.models import Case
from app.services.cases import open_case
from app.services.joining import CODE_ALPHABET, CODE_LENGTH, issue_join_link, normalize_code


@pytest.fixture
def link(app, make_user):
    staff = make_user("counter")
    with app.app_context():
        case = open_case(staff.id, ["death"], "remote", date.today(), datetime.now(), "c")
        return issue_join_link(case, actor="c", now=datetime.now(), minutes=30)


def test_the_code_has_no_look_alike_characters(link):
    assert len(link.token) == CODE_LENGTH and set(link.token) <= set(CODE_ALPHABET)
    assert not set("01ILOUV") & set(CODE_ALPHABET)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", link.code)


def test_typed_code_in_any_form_leads_to_the_pin(client, link):
    typed = f" {link.token[:4].lower()}ー{link.token[4:]} "  # small letters, an IME hyphen
    assert normalize_code(typed) == link.token
    response = client.post("/join", data={"code": typed})
    assert response.status_code == 302 and response.headers["Location"] == f"/join/{link.token}"
    # The PIN rules are those of the link.
    response = client.post(f"/join/{link.token}", data={"pin": link.pin})
    assert response.headers["Location"] == "/r/"


def test_a_wrong_code_stays_on_the_form_and_says_what_to_do(client, link):
    response = client.post("/join", data={"code": "ABCD-23"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "8文字の英数字" in page and 'value="ABCD-23"' in page
    other = "".join(reversed(link.token))
    response = client.post("/join", data={"code": other if other != link.token else "ZZZZZZZZ"})
    assert response.status_code == 400 and "新しいリンクを発行" in response.get_data(as_text=True)


def _svg_image(svg: str) -> Image.Image:
    """Draw segno's inline SVG (one path of horizontal runs: ``M x y h n m dx dy …``)."""
    scale = int(re.search(r'transform="scale\((\d+)\)"', svg).group(1))
    size = int(re.search(r'width="(\d+)"', svg).group(1)) // scale
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)
    image = Image.new("L", (size, size), 255)
    x = y = 0.0
    for op, args in re.findall(r"([MmHh])([-\d. ]+)", path):
        nums = [float(n) for n in args.split()]
        if op in "Mm":
            x, y = (nums[0], nums[1]) if op == "M" else (x + nums[0], y + nums[1])
        else:
            for cell in range(int(x), int(x + nums[0])):
                image.putpixel((cell, int(y)), 0)
            x += nums[0]
    return image.resize((size * 8, size * 8), Image.NEAREST)


def test_join_box_issues_a_qr_of_the_link_with_code_and_pin(client, login_as, app, make_user):
    login_as("counter")
    staff = make_user("counter")
    with app.app_context():
        case = open_case(staff.id, ["death"], "remote", date.today(), datetime.now(), "c")
        case_id = case.id
    page = client.get(f"/counter/cases/{case_id}").get_data(as_text=True)
    assert 'id="join-box"' in page
    answer = client.post(f"/counter/cases/{case_id}/join-box").get_json()
    assert answer["ok"]
    html = answer["html"]
    code = re.search(r'id="join-box-code"[^>]*>([A-Z2-9]{4}-[A-Z2-9]{4})<', html).group(1)
    url = re.search(r'id="join-box-url">([^<]+)<', html).group(1)
    assert url.endswith("/join/" + code.replace("-", ""))
    pin = re.search(r'id="join-box-pin"[^>]*>(\d{3}) (\d{3})<', html)
    assert pin
    # The text to send holds the link and the code but never the PIN (it is read out).
    message = re.search(r'<textarea id="join-box-message"[^>]*>([^<]+)<', html).group(1)
    assert url in message and code in message and "".join(pin.groups()) not in message
    # The QR decodes to the link: render the SVG the page shows and read it back.
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and "aria-label=" in svg
    decoded = zxingcpp.read_barcodes(_svg_image(svg))
    assert decoded and decoded[0].text == url
    with app.app_context():
        assert db.session.get(Case, case_id) is not None
