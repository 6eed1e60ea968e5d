import subprocess

import pytest

from app.services.demo import load_demo


@pytest.fixture
def staff(app, login_as):
    from datetime import datetime

    with app.app_context():
        load_demo(now=datetime.now())
    return login_as("counter")


def _death_case(client):
    url = client.post(
        "/counter/cases",
        data={"events": ["death"], "channel": "counter", "registry_code": "10000007919"},
    ).headers["Location"]
    client.post(url + "/roles/deceased", data={"person": "0"})
    client.post(url + "/answer", data={"fact": "death.date", "f-death-date-value": "R8.11.20"})
    return url


def test_packet_pdf_contains_the_deceaseds_name_and_is_audited(client, staff, tmp_path):
    url = _death_case(client)
    response = client.get(url + "/packet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / "packet.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "山田" in text and "太郎" in text
    assert "書類一式を表示" in client.get(url + "/audit").get_data(as_text=True)


def test_form_preview_is_the_same_template_as_the_pdf(client, staff):
    url = _death_case(client)
    page = client.get(url).get_data(as_text=True)
    key = page.split('data-form="', 1)[1].split('"', 1)[0]
    preview = client.get(f"{url}/forms/{key}")
    assert preview.status_code == 200
    body = preview.get_data(as_text=True)
    assert "/documents/assets/_shared/base.css" in body and "山田" in body
    assert "書類を表示" in client.get(url + "/audit").get_data(as_text=True)


def test_cover_sheet_lists_procedures_by_department(client, staff, tmp_path):
    url = _death_case(client)
    response = client.get(url + "/cover.pdf")
    pdf = tmp_path / "cover.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "市民課" in text and "受付案内" in text


def test_unknown_form_key_is_not_found(client, staff):
    url = _death_case(client)
    assert client.get(url + "/forms/no_such_form").status_code == 404
