"""Forms of the admin workspace."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from app.models.user import ROLE_LABELS


class NewUserForm(FlaskForm):
    """A new staff account."""

    username = StringField(
        "職員ID",
        validators=[
            DataRequired("職員IDを入力してください。"),
            Regexp(
                r"^[a-z0-9_.-]{3,64}$",
                message="職員IDは半角英小文字・数字・記号(_ . -)の3〜64文字です。",
            ),
        ],
    )
    display_name = StringField(
        "氏名", validators=[DataRequired("氏名を入力してください。"), Length(max=100)]
    )
    role = SelectField("役割", choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()])
    password = PasswordField(
        "初期パスワード",
        validators=[
            DataRequired("初期パスワードを入力してください。"),
            Length(min=12, max=256, message="パスワードは12文字以上にしてください。"),
        ],
    )


class NewKioskForm(FlaskForm):
    """A branch-office kiosk to register."""

    name = StringField(
        "端末名（設置場所）",
        validators=[DataRequired("端末名を入力してください。"), Length(max=100)],
    )
