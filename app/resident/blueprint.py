"""The resident blueprint object, shared by its view modules (views, join_box)."""

from flask import Blueprint

from app.resident.furigana import furigana
from app.services.review import init_live

bp = Blueprint("resident", __name__)
bp.record_once(lambda state: init_live(state.app))
bp.add_app_template_filter(furigana, "furigana")
