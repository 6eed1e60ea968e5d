"""Form rendering: one Jinja2 template per form, shown as HTML and printed as PDF."""
