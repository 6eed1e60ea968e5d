"""Forms of the resident view."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired


class PinForm(FlaskForm):
    """The 6-digit PIN read out by the staff member."""

    pin = StringField(
        "暗証番号（6桁の数字）",
        validators=[DataRequired("職員がお伝えした6桁の暗証番号を入力してください。")],
    )


class JoinCodeForm(FlaskForm):
    """The 8-character join code, typed by a resident at home (the QR's link, shortened)."""

    code = StringField(
        "参加コード（8文字の英数字）",
        validators=[DataRequired("職員がお伝えした8文字の参加コードを入力してください。")],
    )
