"""The pre-entry form: the applicant's own details and the life event."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice

from app.scanning.preentry import EVENTS


class PreEntryForm(FlaskForm):
    """What a resident may enter before the visit (checked with the engine's fact rules)."""

    event = SelectField(
        "窓口で行う手続",
        choices=[SelectChoice("", "選んでください")]
        + [SelectChoice(k, v) for k, v in EVENTS.items()],
        validate_choice=False,  # checked in the view, with a message in Japanese
    )
    name = StringField("氏名")
    name_kana = StringField("ふりがな")
    birth_date = StringField("生年月日")
    postal_code = StringField("郵便番号")
    address = StringField("住所")
    phone = StringField("電話番号")
