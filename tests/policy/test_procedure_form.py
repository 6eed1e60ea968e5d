"""The plain form for a procedure's words (issue 14, 3): title, reason, やさしい日本語, note and
bring are written into the procedure's lines only, checked, and refused in Japanese."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from app.services.ruleset_procedures import parse_words, procedure, rewrite_procedure
from app.services.ruleset_store import VersionError, create_draft, file_of, latest_published
from tests.policy.conftest import NOW, version
from tests.policy.test_impact_and_cli import _login

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "procedure_rules" / "procedures").glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_rewriting_one_procedure_changes_only_its_words(path: Path) -> None:
    """Every shipped procedure: new words land in it, every other procedure stays as it was."""
    text = path.read_text(encoding="utf-8")
    before = yaml.safe_load(text)["procedures"]
    for index, item in enumerate(before):
        words = {
            "title": item["title"] + "（改正）",
            "reason": "{deceased.name}さん: 理由 #1",  # ': ' and ' #' need quoting in YAML
            "plain": "てつづき です。",
            "note": "",  # removed
            "bring": ["本人確認書類", "印鑑, 通帳"],
        }
        after = yaml.safe_load(rewrite_procedure(text, path.name, item["id"], words))["procedures"]
        expected = {k: v for k, v in item.items() if k != "note"}
        expected.update(title=words["title"], reason=words["reason"], plain="てつづき です。")
        expected["bring"] = words["bring"]
        assert after[index] == expected
        assert [p for i, p in enumerate(after) if i != index] == [
            p for i, p in enumerate(before) if i != index
        ]


def test_a_missing_key_goes_where_the_content_writes_it() -> None:
    text = """procedures:
  - id: a
    title: A
    events: [death]
    applies_when: deceased.kokuho_member
    deadline:
      from: death.date
      days: 14
    forms: [f]

  - id: b
    title: B
"""
    out = rewrite_procedure(
        text, "p.yaml", "a", {"reason": "理由", "plain": "せつめい", "bring": ["証"]}
    )
    lines = out.splitlines()
    assert lines[5] == "    reason: 理由"  # after applies_when, before deadline
    assert lines[9:12] == ["    forms: [f]", "    bring: [証]", "    plain: せつめい"]
    assert lines[12:] == ["", "  - id: b", "    title: B"]
    assert yaml.safe_load(out)["procedures"][1] == {"id": "b", "title": "B"}


def test_required_words_are_refused_in_japanese() -> None:
    with pytest.raises(VersionError) as refused:
        parse_words({"title": "転入届", "reason": "  ", "plain": "てんにゅう"})
    assert refused.value.message == "「理由（職員が読み上げる文）」が空です。"
    words = parse_words(
        {"title": " 転入届 ", "reason": "転入した\r\nため", "plain": "x", "bring": "a\r\n\r\n b "}
    )
    assert words["reason"] == "転入した ため" and words["bring"] == ["a", "b"]


def _draft(app: Flask) -> int:
    with app.app_context():
        base = latest_published()
        assert base is not None
        return create_draft(base, actor="alice", now=NOW).id


def test_the_form_saves_the_words_and_the_case_reads_them(
    policy_app: Flask, client: FlaskClient
) -> None:
    draft_id = _draft(policy_app)
    _login(client, "alice")
    page = client.get(f"/policy/versions/{draft_id}").get_data(as_text=True)
    assert 'data-procedure="kokuho_sosaihi"' in page
    url = f"/policy/versions/{draft_id}/procedures/kokuho_sosaihi"
    form = client.get(url).get_data(as_text=True)
    revision = re.search(r'name="revision" value="(\d+)"', form)[1]
    reason = html.unescape(re.search(r'<textarea id="reason"[^>]*>(.*?)</textarea>', form, re.S)[1])
    # how a clerk will read it out, in the scenarios it applies to (synthetic names)
    examples = html.unescape(re.search(r'<ul id="reason-examples">(.*?)</ul>', form, re.S)[1])
    assert "さんは国民健康保険の被保険者として亡くなったため" in examples
    assert "{deceased.name}" not in examples
    assert reason.startswith("{deceased.name}さんは国民健康保険の被保険者")
    saved = client.post(
        url,
        data={
            "revision": revision,
            "title": "国民健康保険 葬祭費の支給申請",
            "reason": "{deceased.name}さんが国民健康保険の被保険者として亡くなったため、喪主に葬祭費が支給されます。",
            "plain": "おそうしきを した ひとに おかねが でます。",
            "note": "",
            "bring": "葬儀の領収書\n喪主名義の預金通帳\n喪主の本人確認書類",
        },
        follow_redirects=True,
    )
    body = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "文言を保存しました" in body
    assert "検査の問題" not in body
    with policy_app.app_context():
        found = procedure(version(draft_id), "kokuho_sosaihi")
        assert found.bring == ("葬儀の領収書", "喪主名義の預金通帳", "喪主の本人確認書類")
        assert found.plain == "おそうしきを した ひとに おかねが でます。"
        text = file_of(version(draft_id), found.file).content.decode("utf-8")
        assert "    plain: おそうしきを した ひとに おかねが でます。\n" in text


def test_a_refused_save_keeps_what_was_typed_and_a_bad_placeholder_shows_at_its_line(
    policy_app: Flask, client: FlaskClient
) -> None:
    draft_id = _draft(policy_app)
    _login(client, "alice")
    url = f"/policy/versions/{draft_id}/procedures/kokuho_sosaihi"
    form = client.get(url).get_data(as_text=True)
    revision = re.search(r'name="revision" value="(\d+)"', form)[1]
    data = {"revision": revision, "title": "葬祭費", "reason": "", "plain": "いつもの せつめい"}
    refused = client.post(url, data=data)
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "「理由（職員が読み上げる文）」が空です。" in body and "いつもの せつめい" in body
    data["reason"] = "{decesed.name}さんが亡くなったため"
    shown = client.post(url, data=data, follow_redirects=True).get_data(as_text=True)
    assert "この手続に検査の問題が 1 件あります" in shown
    assert re.search(
        r"procedure_rules/procedures/hoken_nenkin\.yaml:\d+:\d+</code> 理由の差し込み", shown
    )
    assert "deceased" in shown and "Traceback" not in shown


def test_a_published_version_cannot_be_changed_through_the_form(
    policy_app: Flask, client: FlaskClient
) -> None:
    with policy_app.app_context():
        published = latest_published()
        assert published is not None
        published_id = published.id
    _login(client, "alice")
    url = f"/policy/versions/{published_id}/procedures/kokuho_sosaihi"
    assert "公開済みなので変更できません" in client.get(url).get_data(as_text=True)
    data = {"revision": "1", "title": "x", "reason": "y", "plain": "z"}
    refused = client.post(url, data=data)
    assert refused.status_code in (400, 409)
    unknown = client.get(
        f"/policy/versions/{published_id}/procedures/no_such", follow_redirects=True
    )
    assert "手続「no_such」はこの版にありません" in unknown.get_data(as_text=True)


def test_two_people_saving_the_same_procedure_get_a_conflict_not_an_overwrite(
    policy_app: Flask, client: FlaskClient
) -> None:
    draft_id = _draft(policy_app)
    _login(client, "alice")
    url = f"/policy/versions/{draft_id}/procedures/kokuho_sosaihi"
    revision = re.search(r'name="revision" value="(\d+)"', client.get(url).get_data(as_text=True))[
        1
    ]
    words = {"revision": revision, "title": "葬祭費", "reason": "理由です", "plain": "せつめい"}
    assert client.post(url, data=words).status_code == 302
    late = client.post(url, data={**words, "plain": "あとから かいた せつめい"})
    assert late.status_code == 409
    body = late.get_data(as_text=True)
    assert "上書きはしませんでした" in body and "あとから かいた せつめい" in body
    with policy_app.app_context():
        assert procedure(version(draft_id), "kokuho_sosaihi").plain == "せつめい"
