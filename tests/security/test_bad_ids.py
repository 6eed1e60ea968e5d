"""Low 10 (part): ids too large for an INTEGER column are "not found", not a database error."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("number", ["2147483648", "9223372036854775808", "9" * 40])
def test_an_id_too_large_for_the_database_is_not_found(
    client: Any, login_as: Any, number: str
) -> None:
    login_as("counter")
    response = client.get(f"/counter/cases/{number}")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.get_data(as_text=True)


def test_the_largest_database_id_still_routes(client: Any, login_as: Any) -> None:
    login_as("counter")
    assert client.get(f"/counter/cases/{2**31 - 1}").status_code == 404  # routed, no such case
