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
