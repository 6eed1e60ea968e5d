from app.extensions import db
from app.models import StaffUser


def test_users_create(app, runner):
    result = runner.invoke(
        args=["users", "create", "--role", "counter", "--password", "a-long-password!", "suzuki"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.query(StaffUser).filter_by(username="suzuki").one().role == "counter"


def test_users_create_refuses_unknown_role(runner):
    result = runner.invoke(args=["users", "create", "--role", "mayor", "--password", "x" * 12, "a"])
    assert result.exit_code == 2 and "mayor" in result.output


def test_users_create_refuses_short_password(runner):
    result = runner.invoke(
        args=["users", "create", "--role", "counter", "--password", "short", "a"]
    )
    assert result.exit_code == 1 and "at least 12 characters" in result.output


def test_demo_load_is_idempotent(app, runner):
    first = runner.invoke(args=["demo", "load"])
    second = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "demo data: up to date" in second.output
    with app.app_context():
        assert db.session.query(StaffUser).count() == 3
