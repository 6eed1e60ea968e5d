import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_policy_page_shows_the_rule_set_in_force(client, login_as):
    login_as("policy")
    page = client.get("/policy/").get_data(as_text=True)
    assert "みどり市" in page and "シナリオテストを実行する" in page
    assert "火葬許可申請書" in page


def test_running_the_scenarios_reports_every_one_passing(client, login_as):
    login_as("policy")
    page = client.post("/policy/scenarios").get_data(as_text=True)
    assert "件が合格、0件が不合格です" in page


def test_a_broken_publication_is_shown_with_file_line_column(app, client, login_as, tmp_path):
    rules = tmp_path / "procedure_rules"
    shutil.copytree(ROOT / "procedure_rules", rules)
    app.config["RULES_DIR"] = str(rules)
    login_as("policy")
    assert "みどり市" in client.get("/policy/").get_data(as_text=True)  # loads once
    broken = rules / "events.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\n  - id: [\n", encoding="utf-8")
    from app.services.rules import rules_holder

    rules_holder(app)._checked = float("-inf")  # do not wait for the next periodic check
    page = client.get("/policy/").get_data(as_text=True)
    assert "公開されたルールに誤りがあります" in page
    assert "events.yaml:" in page
    assert "みどり市" in page  # the previous version stays in force
