"""The staff login form."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    """Username and password, with CSRF protection from Flask-WTF."""

    username = StringField(
        "職員ID",
        validators=[DataRequired("職員IDを入力してください。"), Length(max=64)],
    )
    password = PasswordField(
        "パスワード",
        validators=[DataRequired("パスワードを入力してください。"), Length(max=256)],
    )
