"""Forms of the counter workspace (besides the fact forms built from the rules)."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

CHANNEL_CHOICES = [
    SelectChoice("counter", "窓口"),
    SelectChoice("kiosk", "支所キオスク"),
    SelectChoice("remote", "リモート（自宅など）"),
]


class NewCaseForm(FlaskForm):
    """Open a case: the life events and how the resident is served."""

    events = SelectMultipleField(
        "ライフイベント",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired("ライフイベントを1つ以上選んでください。")],
        validate_choice=False,
    )
    channel = RadioField("受付の方法", choices=CHANNEL_CHOICES, default="counter")
    registry_household = StringField("住民記録の世帯", render_kw={"hidden": True})


class ReasonForm(FlaskForm):
    """A reason, for reopening a case or changing a locked fact."""

    reason = StringField(
        "理由",
        validators=[DataRequired("理由を入力してください。"), Length(max=500)],
    )
