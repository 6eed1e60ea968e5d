"""The resident's first screen: what to do next, the reading view in the live state, no call."""

from __future__ import annotations

import re


def test_next_step_follows_the_case(app, client, make_review_case, join_case):
    interviewing = make_review_case(review=False)
    join_case(interviewing)
    state = client.get("/r/forms").get_json()
    assert state["forms"] and state["next"] == "wait_forms"
    page = client.get("/r/").get_data(as_text=True)
    # The sentence for the state shows; the call pane is there but hidden until staff call.
    assert re.search(r'<p data-next="wait_forms">', page)
    assert re.search(r'<section id="call"[^>]* hidden', page)

    in_review = make_review_case()
    join_case(in_review)
    state = client.get("/r/forms").get_json()
    assert state["next"] == "confirm"
    for form in state["forms"]:
        state = client.post(
            "/r/confirm", data={"form": form["key"], "hash": form["hash"]}
        ).get_json()
    assert state["next"] == "sign" and state["can_sign"]


def test_reading_view_is_bound_to_the_confirmed_hash(app, client, make_review_case, join_case):
    join_case(make_review_case())
    form = client.get("/r/forms").get_json()["forms"][0]
    body = form["body"]
    # One entry per value, with its label; the document hash under 「書類の識別情報」.
    assert body.count('class="entry') > 5
    assert "書類の識別情報" in re.sub(r"<rt[^>]*>[^<]*</rt>|</?ruby>", "", body)
    assert form["hash"] in body
    assert "<details" in body and "<details open" not in body
    # A hash other than the one shown is refused: the confirmation is of what was read.
    refused = client.post("/r/confirm", data={"form": form["key"], "hash": "0" * 64})
    assert refused.status_code == 409


def test_call_state_says_no_staff_before_a_call(app, client, make_review_case, join_case):
    join_case(make_review_case())
    assert client.get("/r/call").get_json()["staff"] is False
