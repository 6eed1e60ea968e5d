"""The resident (住民) view: join by link and PIN or at a kiosk, follow, confirm, sign.

One blueprint (``blueprint.bp``) and its route modules: ``views`` (join, kiosk, forms,
signing, receipt) and ``join_box`` (the staff side of joining, shown on the case page).
"""

from app.resident import join_box, views
from app.resident.blueprint import bp

ROUTE_MODULES = (join_box, views)

__all__ = ["ROUTE_MODULES", "bp"]
