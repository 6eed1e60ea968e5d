"""WTForms built from fact declarations: one builder, one form class per fact and rule-set version.

The forms render the interview's inputs and collect what staff typed; checking the value is
the engine's job (``parse_fact_value``), so that the counter, the API and the scanner agree.
"""

from __future__ import annotations

from typing import Any

from wtforms import Form, FormField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from app.engine import FactDef, RuleSet

# Hints for on-screen keyboards (tablets) and for the kana/date helpers in counter.js.
INPUT_MODES = {
    "integer": "numeric",
    "money": "numeric",
    "postal_code": "numeric",
    "my_number": "numeric",
}
PLACEHOLDERS = {
    "date": "令和7年4月1日 / R7.4.1 / 2025-04-01",
    "postal_code": "123-4567",
    "my_number": "12桁",
    "kana": "カタカナ（ひらがなでも可）",
    "time": "14:30 / 14時30分",
}


class BankAccountForm(Form):
    """The five parts of a payee bank account (振込先口座)."""

    bank = StringField("金融機関名")
    branch = StringField("支店名")
    kind = SelectField(
        "預金種別",
        choices=[SelectChoice("普通", "普通"), SelectChoice("当座", "当座")],
    )
    number = StringField("口座番号（7桁）", render_kw={"inputmode": "numeric"})
    holder = StringField("口座名義（カタカナ）")


def _field_for(fact: FactDef) -> Any:
    kw: dict[str, Any] = {"label": fact.label, "description": fact.help or ""}
    render = {"autocomplete": "off", "data-type": fact.type}
    if fact.type in INPUT_MODES:
        render["inputmode"] = INPUT_MODES[fact.type]
    if fact.type in PLACEHOLDERS:
        render["placeholder"] = PLACEHOLDERS[fact.type]
    if fact.type == "boolean":
        return RadioField(
            choices=[SelectChoice("true", "はい"), SelectChoice("false", "いいえ")],
            validate_choice=False,
            render_kw={"data-type": "boolean"},
            **kw,
        )
    if fact.type == "choice":
        options = [SelectChoice("", "（選んでください）")]
        options += [SelectChoice(k, v) for k, v in fact.choices.items()]
        return SelectField(choices=options, validate_choice=False, render_kw=render, **kw)
    if fact.type == "list" and fact.choices:
        return SelectMultipleField(
            choices=[SelectChoice(k, v) for k, v in fact.choices.items()],
            widget=ListWidget(prefix_label=False),
            option_widget=CheckboxInput(),
            validate_choice=False,
            render_kw={"data-type": "list"},
            **kw,
        )
    if fact.type == "bank_account":
        return FormField(BankAccountForm, **kw)
    return StringField(render_kw=render, **kw)


_classes: dict[tuple[str, str], type[Form]] = {}


def fact_form_class(ruleset: RuleSet, fact: FactDef) -> type[Form]:
    """Return the WTForms class asking one fact (cached per rule-set version)."""
    key = (ruleset.version, fact.id)
    cls = _classes.get(key)
    if cls is None:
        if len(_classes) > 4096:  # old rule-set versions: start afresh
            _classes.clear()
        name = f"FactForm_{fact.id.replace('.', '_')}"
        cls = _classes[key] = type(name, (Form,), {"value": _field_for(fact)})
    return cls


def raw_answer(form: Form) -> Any:
    """Return what was typed in a fact form as the engine's parser takes it."""
    data = form.value.data  # type: ignore[attr-defined]
    if isinstance(data, dict):
        return {k: (v or "").strip() for k, v in data.items()}
    return data
