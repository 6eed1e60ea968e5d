"""SQLAlchemy models; importing this package registers every table."""

from app.models.attachment import CaseAttachment
from app.models.booking import Booking
from app.models.card_agent import CardAgent, CardAgentNonce, CardPairingCode, CardReading
from app.models.case import AuditEvent, Case, FactChange, FactValue, RoutedProcedure
from app.models.join import JoinLink, Kiosk, ResidentSession
from app.models.rate import RateWindow
from app.models.registry import RegistryHousehold, RegistryResident
from app.models.review import FormConfirmation, ResidentRequest, SignedPacket
from app.models.ruleset import RuleSetFile, RuleSetVersion
from app.models.sequence import NumberSeries
from app.models.user import StaffUser

__all__ = [
    "AuditEvent",
    "Booking",
    "CardAgent",
    "CardAgentNonce",
    "CardPairingCode",
    "CardReading",
    "CaseAttachment",
    "Case",
    "FactChange",
    "FactValue",
    "FormConfirmation",
    "JoinLink",
    "Kiosk",
    "ResidentSession",
    "NumberSeries",
    "RateWindow",
    "RegistryHousehold",
    "RegistryResident",
    "ResidentRequest",
    "RoutedProcedure",
    "RuleSetFile",
    "RuleSetVersion",
    "SignedPacket",
    "StaffUser",
]
