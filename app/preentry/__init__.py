"""事前入力 (pre-entry): a public page where residents prepare a signed QR before a visit.

One blueprint (``views.bp``) and its route modules: ``views`` (the pre-entry form and its
QR) and ``booking`` (予約 of a counter visit).
"""

from app.preentry import booking, views
from app.preentry.views import bp

ROUTE_MODULES = (booking, views)

__all__ = ["ROUTE_MODULES", "bp"]
