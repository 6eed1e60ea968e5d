def test_login_page_is_japanese(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "職員ログイン" in page


def test_counter_user_lands_on_counter_page(client, login_as):
    login_as("counter")
    assert "窓口業務" in client.get("/counter/").get_data(as_text=True)
