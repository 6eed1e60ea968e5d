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
