"""A case's documents are printed with the templates of the version that applies to it
(issue 14, 1–2): a template change published from a date shows in the PDF of a case from
that date, and not in one the day before."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.documents import documents
from app.extensions import db
from app.models import AuditEvent, Case
from app.services import versions
from app.services.case_documents import form_html, packet_pdf
from app.services.interview import evaluate_stored
from app.services.rules import ruleset_for
from app.services.ruleset_store import (
    VersionError,
    create_draft,
    file_of,
    latest_published,
    save_file,
)
from app.services.version_documents import documents_for
from app.services.versions import check
from tests.policy.conftest import NOW, forget_timeline, version
from tests.policy.test_impact_and_cli import _login, _open_case

FROM = date(2027, 4, 1)
TEMPLATE = "pdf_templates/sosaihi_kokuho/template.html"
MARK = "令和9年4月改正様式"


def _pdf_text(pdf: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def _publish_template_change(app: Flask) -> int:
    """Alice changes the 葬祭費 form's template from FROM; bob approves; bob publishes."""
    with app.app_context():
        base = latest_published()
        assert base is not None
        draft = create_draft(base, actor="alice", now=NOW)
        item = file_of(draft, TEMPLATE)
        text = item.content.decode("utf-8").replace(
            '<p class="ksection">死亡した被保険者</p>',
            f'<p class="ksection">{MARK}</p>\n<p class="ksection">死亡した被保険者</p>',
            1,
        )
        assert MARK in text
        save_file(
            draft,
            TEMPLATE,
            text.encode("utf-8"),
            expected_revision=item.revision,
            actor="alice",
            now=NOW,
            limit=524288,
        )
        draft_id = draft.id
        versions.submit(
            version(draft_id),
            note="葬祭費の申請書の様式を改める（規則改正）",
            effective_from=FROM,
            actor="alice",
            now=NOW,
            config=app.config,
        )
        versions.approve(version(draft_id), actor="bob", now=NOW, config=app.config)
        versions.publish(version(draft_id), actor="bob", now=NOW, config=app.config)
        forget_timeline(app)
        return draft_id


def _documents_of(app: Flask, number: str) -> tuple[str, str, str]:
    """Return a case's version name, its 葬祭費 form as HTML and its packet's text."""
    with app.app_context():
        case = db.session.query(Case).filter_by(number=number).one()
        ruleset = ruleset_for(app, case.as_of.date())
        result = evaluate_stored(ruleset, case)
        assert result.form("sosaihi_kokuho") is not None
        html = form_html(ruleset, case, result, "sosaihi_kokuho")
        assert html is not None
        return ruleset.version, str(html), _pdf_text(packet_pdf(ruleset, case, result))


def test_a_published_template_change_prints_from_its_effective_date(policy_app: Flask) -> None:
    day_before = _open_case(policy_app, "death.yaml", 1, date(2027, 3, 31))
    on_the_day = _open_case(policy_app, "death.yaml", 1, FROM)
    published = _publish_template_change(policy_app)
    with policy_app.app_context():
        new_name = version(published).name
    old_version, old_html, old_pdf = _documents_of(policy_app, day_before)
    new_version, new_html, new_pdf = _documents_of(policy_app, on_the_day)
    assert new_version == new_name and old_version != new_name
    assert MARK in new_html and MARK in new_pdf
    assert MARK not in old_html and MARK not in old_pdf
    # Both packets carry their own version in the footer (what was printed with what).
    assert new_name in new_pdf.replace("\n", "") and old_version in old_pdf.replace("\n", "")
    # The templates on disk are untouched: the change lives only in the published version.
    assert MARK not in (documents().root / "sosaihi_kokuho" / "template.html").read_text("utf-8")


def test_versions_with_the_app_s_own_templates_share_its_renderer(
    policy_app: Flask, amount_draft
) -> None:
    """A rules-only change (the 葬祭費 amount) prints with the app's warmed-up renderer."""
    draft_id = amount_draft(70000, FROM)
    with policy_app.app_context():
        versions.submit(
            version(draft_id),
            note="葬祭費の額の改定",
            effective_from=FROM,
            actor="alice",
            now=NOW,
            config=policy_app.config,
        )
        versions.approve(version(draft_id), actor="bob", now=NOW, config=policy_app.config)
        versions.publish(version(draft_id), actor="bob", now=NOW, config=policy_app.config)
        forget_timeline(policy_app)
        assert documents_for(ruleset_for(policy_app, FROM)) is documents()
        assert documents_for(ruleset_for(policy_app, date(2027, 3, 31))) is documents()


def test_a_template_that_does_not_render_is_a_problem_and_stops_the_version(
    policy_app: Flask, client: FlaskClient
) -> None:
    """A broken template would break every case's documents from the effective date."""
    with policy_app.app_context():
        base = latest_published()
        assert base is not None
        draft = create_draft(base, actor="alice", now=NOW)
        item = file_of(draft, TEMPLATE)
        broken = item.content.decode("utf-8").replace(
            "{% block body %}", "{% block body %}\n{{ fields.sosai_basho }}", 1
        )
        save_file(
            draft,
            TEMPLATE,
            broken.encode("utf-8"),
            expected_revision=item.revision,
            actor="alice",
            now=NOW,
            limit=524288,
        )
        found = check(version(draft.id), policy_app.config)
        assert [(p.file, p.message) for p in found.problems] == [
            (TEMPLATE, "見本の値（sample.yaml）にない項目 sosai_basho を印字しています")
        ]
        with pytest.raises(VersionError) as refused:
            versions.submit(
                version(draft.id),
                note="様式の改正",
                effective_from=FROM,
                actor="alice",
                now=NOW,
                config=policy_app.config,
            )
        assert refused.value.code == "lint_failed"
        draft_id = draft.id
    _login(client, "alice")
    page = client.get(f"/policy/versions/{draft_id}").get_data(as_text=True)
    assert f"<code>{TEMPLATE}:1:1</code>" in page and "/tmp" not in page
    syntax = broken.replace("{{ fields.sosai_basho }}", "{% if %}")
    with policy_app.app_context():
        item = file_of(version(draft_id), TEMPLATE)
        save_file(
            version(draft_id),
            TEMPLATE,
            syntax.encode("utf-8"),
            expected_revision=item.revision,
            actor="alice",
            now=NOW,
            limit=524288,
        )
        (problem,) = check(version(draft_id), policy_app.config).problems
        assert (problem.file, problem.line) == (TEMPLATE, 4)
        assert problem.message == "テンプレートの書き方に誤りがあります"
        assert problem.hint == "{% %} の中に式がありません（例: {% if fields.x %}）"


def _draft_with_mark(app: Flask) -> int:
    with app.app_context():
        base = latest_published()
        assert base is not None
        draft = create_draft(base, actor="alice", now=NOW)
        item = file_of(draft, TEMPLATE)
        text = item.content.decode("utf-8").replace(
            '<p class="ksection">死亡した被保険者</p>',
            f'<p class="ksection">{MARK}</p>\n<p class="ksection">死亡した被保険者</p>',
            1,
        )
        save_file(
            draft,
            TEMPLATE,
            text.encode("utf-8"),
            expected_revision=item.revision,
            actor="alice",
            now=NOW,
            limit=524288,
        )
        return draft.id


def test_a_draft_s_form_is_previewed_as_pdf_with_its_own_template(
    policy_app: Flask, client: FlaskClient
) -> None:
    number = _open_case(policy_app, "death.yaml", 1, date(2025, 5, 12))
    draft_id = _draft_with_mark(policy_app)
    _login(client, "alice")
    editor = client.get(f"/policy/versions/{draft_id}/files/{TEMPLATE}").get_data(as_text=True)
    assert 'id="template-preview"' in editor
    url = f"/policy/versions/{draft_id}/forms/sosaihi_kokuho/preview.pdf"
    sample = client.get(url)
    assert sample.status_code == 200 and sample.mimetype == "application/pdf"
    text = _pdf_text(sample.data)
    assert MARK in text and "見本" in text
    with policy_app.app_context():
        assert not db.session.query(AuditEvent).filter_by(action="ruleset_case_compared").count()
    of_case = client.get(url, query_string={"case": number})
    assert of_case.status_code == 200
    text = _pdf_text(of_case.data)
    assert MARK in text and number in text
    with policy_app.app_context():
        read = db.session.query(AuditEvent).filter_by(action="ruleset_case_compared").one()
        assert read.actor == "alice"
    # The published version previews without the change.
    with policy_app.app_context():
        published = latest_published()
        assert published is not None
        published_id = published.id
    plain = client.get(f"/policy/versions/{published_id}/forms/sosaihi_kokuho/preview.pdf")
    assert MARK not in _pdf_text(plain.data)
    missing = client.get(
        f"/policy/versions/{draft_id}/forms/no_such_form/preview.pdf", follow_redirects=True
    )
    assert "帳票「no_such_form」のひな形はこの版にありません。" in missing.get_data(as_text=True)
    other = client.get(
        f"/policy/versions/{draft_id}/forms/kokuho_shutoku/preview.pdf",
        query_string={"case": number},
        follow_redirects=True,
    )
    assert f"案件 {number} には、この版で帳票" in other.get_data(as_text=True)


def test_a_removed_templates_folder_is_written_again(policy_app: Flask) -> None:
    """Cleaning the instance folder under a running app costs a re-write, not a failure."""
    import shutil

    number = _open_case(policy_app, "death.yaml", 1, FROM)
    _publish_template_change(policy_app)
    assert MARK in _documents_of(policy_app, number)[1]
    from app.documents import catalog
    from app.services import version_documents

    folders = Path(policy_app.instance_path) / "version_templates"
    shutil.rmtree(folders)
    # As a process that has not rendered with these templates yet would start:
    version_documents._renderers.clear()
    for path in [p for p in catalog._CATALOGS if folders in p.parents]:
        del catalog._CATALOGS[path]
    assert MARK in _documents_of(policy_app, number)[1]


def test_what_is_typed_in_a_template_is_previewed_before_it_is_saved(
    policy_app: Flask, client: FlaskClient
) -> None:
    with policy_app.app_context():
        base = latest_published()
        assert base is not None
        draft_id = create_draft(base, actor="alice", now=NOW).id
        saved = file_of(version(draft_id), TEMPLATE).content.decode("utf-8")
    _login(client, "alice")
    page = client.get(f"/policy/versions/{draft_id}/files/{TEMPLATE}").get_data(as_text=True)
    assert 'id="live-preview-form"' in page and 'name="template-live"' in page
    url = f"/policy/versions/{draft_id}/files/{TEMPLATE}/preview"
    typed = saved.replace('<p class="ksection">死亡した被保険者</p>', f"<p>{MARK}</p>", 1)
    shown = client.post(url, data={"text": typed})
    assert shown.status_code == 200 and shown.mimetype == "application/pdf"
    assert MARK in _pdf_text(shown.data)
    with policy_app.app_context():  # nothing was saved
        assert file_of(version(draft_id), TEMPLATE).content.decode("utf-8") == saved
    broken = client.post(
        url, data={"text": saved.replace("{% block body %}", "{% block body %}{% if %}")}
    )
    assert broken.status_code == 422
    body = broken.get_data(as_text=True)
    assert "見本を作れません" in body and "テンプレートの書き方に誤りがあります" in body
    assert f"{TEMPLATE}:3" in body and "/tmp" not in body and "Traceback" not in body
    escape = client.post(  # the sandbox: no way out to Python's internals, files or network
        url,
        data={
            "text": saved.replace("{% block body %}", "{% block body %}{{ ''.__class__.__mro__ }}")
        },
    )
    assert escape.status_code == 422
    assert "安全のため、ひな形では使えない書き方です" in escape.get_data(as_text=True)
    style = client.post(
        f"/policy/versions/{draft_id}/files/pdf_templates/sosaihi_kokuho/style.css/preview",
        data={"text": "p { color: red }"},
    )
    assert style.status_code == 200 and style.mimetype == "application/pdf"


def test_the_resident_confirms_and_signs_the_documents_of_the_case_s_version(
    policy_app: Flask,
) -> None:
    """Review and signing print with the version's templates too: what is confirmed is what
    is sealed."""
    from datetime import datetime

    from app.services.cases import change_status
    from app.services.review import confirm_form, shown_forms
    from app.services.signing import sign_case, signed_packet_pdf
    from tests.resident.conftest import signature_png

    number = _open_case(policy_app, "death.yaml", 1, FROM)
    _publish_template_change(policy_app)
    with policy_app.app_context():
        case = db.session.query(Case).filter_by(number=number).one()
        now = datetime(2027, 4, 1, 10, 0)
        change_status(case, "review", actor="clerk", now=now)
        ruleset = ruleset_for(policy_app, FROM)
        result = evaluate_stored(ruleset, case)
        forms = shown_forms(ruleset, case, result)
        assert MARK in next(str(f.html) for f in forms if f.key == "sosaihi_kokuho")
        for form in forms:
            confirm_form(ruleset, case, result, form.key, form.document_hash, now=now)
        sign_case(ruleset, case, result, signature_png(), now=now)
        sealed = signed_packet_pdf(case.id)
    assert sealed is not None and MARK in _pdf_text(sealed)


def test_the_diff_names_the_form_whose_template_changed(policy_app: Flask) -> None:
    from app.services.ruleset_diff import diff_versions

    with policy_app.app_context():
        base = latest_published()
        assert base is not None
        base_id = base.id
    changed = _publish_template_change(policy_app)
    with policy_app.app_context():
        (change,) = diff_versions(version(base_id), version(changed))
        assert (change.name, change.changed_ids) == (TEMPLATE, ("template:sosaihi_kokuho",))
        assert any(MARK in line and line.startswith("+") for line in change.lines)


def test_the_cli_previews_a_form_with_a_version_s_templates(
    policy_app: Flask, tmp_path: Path
) -> None:
    published = _publish_template_change(policy_app)
    runner = policy_app.test_cli_runner()
    out = tmp_path / "preview.pdf"
    done = runner.invoke(
        args=["documents", "preview", "sosaihi_kokuho", "--version", str(published), "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert MARK in _pdf_text(out.read_bytes())
    missing = runner.invoke(args=["documents", "preview", "sosaihi_kokuho", "--version", "999"])
    assert missing.exit_code == 1 and "版「999」は見つかりません。" in missing.output


STYLE = "pdf_templates/sosaihi_kokuho/style.css"
STYLE_MARK = "/* 令和9年4月改正様式の画面表示 */"


def _publish_style_change(app: Flask) -> str:
    """Publish, from FROM, a version whose 葬祭費 form has its own style.css; return its name."""
    with app.app_context():
        base = latest_published()
        assert base is not None
        draft = create_draft(base, actor="alice", now=NOW)
        item = file_of(draft, STYLE)
        css = item.content + f"\n{STYLE_MARK}\n.ksection {{ letter-spacing: .1em; }}\n".encode()
        save_file(
            draft, STYLE, css, expected_revision=item.revision, actor="alice", now=NOW, limit=524288
        )
        draft_id = draft.id
        versions.submit(
            version(draft_id), note="様式の見た目を改める", effective_from=FROM,
            actor="alice", now=NOW, config=app.config,
        )  # fmt: skip
        versions.approve(version(draft_id), actor="bob", now=NOW, config=app.config)
        versions.publish(version(draft_id), actor="bob", now=NOW, config=app.config)
        forget_timeline(app)
        return str(version(draft_id).name)


def _stylesheet_of_form_page(client: FlaskClient, app: Flask, number: str) -> tuple[str, str]:
    """Return the form page's link to the 葬祭費 style.css and what that link serves."""
    with app.app_context():
        case_id = db.session.query(Case).filter_by(number=number).one().id
    page = client.get(f"/counter/cases/{case_id}/forms/sosaihi_kokuho")
    assert page.status_code == 200
    link = re.search(r'href="(/documents/assets/sosaihi_kokuho/style\.css[^"]*)"', page.text)
    assert link, "the form page links no stylesheet of its form"
    href = link.group(1).replace("&amp;", "&")
    with client.get(href) as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
        return href, css.get_data(as_text=True)


def test_a_form_page_takes_its_stylesheet_from_the_case_s_version(
    policy_app: Flask, client: FlaskClient
) -> None:
    day_before = _open_case(policy_app, "death.yaml", 1, date(2027, 3, 31))
    on_the_day = _open_case(policy_app, "death.yaml", 1, FROM)
    name = _publish_style_change(policy_app)
    _login(client, "clerk")
    new_href, new_css = _stylesheet_of_form_page(client, policy_app, on_the_day)
    old_href, old_css = _stylesheet_of_form_page(client, policy_app, day_before)
    assert f"v={name}" in new_href and STYLE_MARK in new_css
    assert f"v={name}" not in old_href and STYLE_MARK not in old_css
    # the app's folder is untouched: the restyle lives only in the version
    assert STYLE_MARK not in (documents().root / "sosaihi_kokuho" / "style.css").read_text("utf-8")
    # a version that does not exist falls back to the app's own stylesheet, never a page error
    with client.get("/documents/assets/sosaihi_kokuho/style.css?v=0123456789ab") as fallback:
        assert fallback.status_code == 200
    assert client.get(f"/documents/assets/sosaihi_kokuho/sample.yaml?v={name}").status_code == 404
