"""The keys each kind of content document may have."""

from __future__ import annotations

MUNICIPALITY_KEYS = {"name", "code", "prefecture", "address", "phone", "departments", "options"}
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
    "applies_when", "reason", "for_each", "deadline", "forms", "automatic", "note", "bring",
}  # fmt: skip
LEGAL_KEYS = {"law", "article", "url"}
DEADLINE_KEYS = {"from", "days", "months", "inclusive", "label"}
FORM_KEYS = {"id", "title", "department", "template", "per_person", "fields", "rows"}
FIELD_KEYS = {"id", "label", "value", "format", "required"}
ROW_KEYS = {"id", "label", "for_each", "max", "fields"}
SCENARIO_KEYS = {"name", "as_of", "facts", "expect"}
EXPECT_KEYS = {"procedures", "undecided", "fields", "deadlines", "departments"}
