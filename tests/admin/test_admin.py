def test_admin_creates_a_staff_account(client, login_as):
    login_as("admin")
    response = client.post(
        "/admin/users",
        data={
            "username": "tanaka",
            "display_name": "田中 一",
            "role": "counter",
            "password": "a-very-long-password",
        },
    )
    assert response.status_code == 200
    assert "田中 一（tanaka）を登録しました" in response.get_data(as_text=True)


def test_bad_staff_form_shows_japanese_errors_next_to_fields(client, login_as):
    login_as("admin")
    response = client.post(
        "/admin/users",
        data={"username": "X!", "display_name": "田中", "role": "counter", "password": "short"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "職員IDは半角英小文字" in page and "12文字以上" in page
    assert 'value="田中"' in page  # what was typed is kept


def test_registering_a_kiosk_shows_its_setup_code_once(client, login_as):
    login_as("admin")
    page = client.post("/admin/kiosks", data={"name": "北支所 1番"}).get_data(as_text=True)
    assert 'class="setup-code"' in page and "/kiosk/setup" in page
    assert 'class="setup-code"' not in client.get("/admin/").get_data(as_text=True)
