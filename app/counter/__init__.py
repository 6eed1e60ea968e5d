"""The 窓口職員 (counter) workspace: one blueprint, one module per screen area.

``cases`` (dashboard, open, status), ``interview`` (answers, roles, members),
``documents`` (preview, packet, paper signature, issue), ``resident_box`` (join links,
kiosks, the resident's requests), ``scan`` (codes, stills, attachments), ``worklists``
(departments, routing, CSV), ``bookings`` (予約), ``statistics`` (統計) and ``audit``; shared view helpers live in ``context``.
"""

from app.counter import (
    audit,
    bookings,
    cases,
    documents,
    interview,
    resident_box,
    scan,
    statistics,
    worklists,
)
from app.counter.blueprint import bp

ROUTE_MODULES = (
    audit,
    bookings,
    cases,
    documents,
    interview,
    resident_box,
    scan,
    statistics,
    worklists,
)

__all__ = ["ROUTE_MODULES", "bp"]
