"""The keys each kind of content document may have."""

from __future__ import annotations

MUNICIPALITY_KEYS = {
    "name", "code", "prefecture", "address", "phone", "departments", "options", "closed_days",
}  # fmt: skip
CLOSED_DAYS_KEYS = {"calendar", "year_end", "extra", "basis"}
YEAR_END_KEYS = {"from", "to"}
CALENDARS = {"japan"}
DEPARTMENT_KEYS = {"id", "name", "floor", "counter"}
ROLE_KEYS = {"id", "label", "single"}
FACT_KEYS = {
    "id",
    "per",
    "type",
    "label",
    "help",
    "sensitivity",
    "validation",
    "choices",
    "derive",
    "ask",
}
VALIDATION_KEYS = {"min", "max", "pattern", "message", "min_length", "max_length"}
PARAMETER_KEYS = {"id", "label", "type", "legal_basis", "values"}
PARAM_VALUE_KEYS = {"valid_from", "valid_until", "value"}
EVENT_KEYS = {"id", "title", "asks"}
PROCEDURE_KEYS = {
    "id", "title", "events", "department", "legal_basis", "valid_from", "valid_until",
    "applies_when", "reason", "plain", "for_each", "deadline", "forms", "automatic", "note",
    "bring", "urgent", "guidance",
}  # fmt: skip
LAW_KEYS = {"name", "number", "url"}
LEGAL_KEYS = {"law", "article"}
DEADLINE_KEYS = {"from", "years", "months", "days", "start", "rolls_over", "why", "label"}
DEADLINE_STARTS = {"day_after", "same_day"}
FORM_KEYS = {"id", "title", "department", "template", "per_person", "audience", "fields", "rows"}
FIELD_KEYS = {"id", "label", "value", "format", "required"}
ROW_KEYS = {"id", "label", "for_each", "max", "fields"}
SCENARIO_KEYS = {"name", "as_of", "facts", "expect"}
EXPECT_KEYS = {"procedures", "undecided", "fields", "deadlines", "departments"}

# How long a typed value may be. A declaration's ``validation: {max_length: N}`` is the real
# form's box (氏名 40, 本籍 80, …); a fact without one takes its type's default here. Without
# a bound a 300,000-character address was accepted and its packet PDF took 47 s to lay out
# (issue #18, Medium 7). Addresses default to 80 characters, as the pre-entry QR
# (app/scanning/preentry.py) and the 本籍・所在地 facts already do: two lines of a 住民異動届
# address box.
TEXT_MAX_LENGTH = {"text": 100, "address": 80, "kana": 60}
# No declaration may raise a box above this (a rule file is not a way round the limit).
TEXT_MAX_LENGTH_CEILING = 400
# A list fact (続柄・届出の事由 …) holds at most this many items, each at most this long.
LIST_MAX_ITEMS = 30
LIST_ITEM_MAX_LENGTH = 100
# The parts of a 振込先口座 (口座番号 is checked as 7 digits on its own).
BANK_PART_MAX_LENGTH = {"bank": 30, "branch": 30, "kind": 4, "holder": 60}
# Whole numbers (人数・金額・身長 …): 15 digits is 999兆円; a longer number is a typing
# error, and Python refuses to read one over 4,300 digits at all.
INTEGER_MAX_DIGITS = 15
