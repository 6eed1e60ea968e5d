"""SQLAlchemy models; importing this package registers every table."""

from app.models.user import StaffUser

__all__ = ["StaffUser"]
