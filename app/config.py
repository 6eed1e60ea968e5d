"""Every setting, declared once with its help text, parsed and validated at start-up.

Sources, later ones winning: the defaults below, ``instance/config.py``, environment
variables ``KAKANAI_<NAME>`` (plus the conventional ``DATABASE_URL`` and ``REDIS_URL``),
and the ``test_config`` given to ``create_app``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(click.ClickException):
    """A setting is missing or invalid; the message names it and says what is allowed."""


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false (1/0, yes/no, on/off)")


def _positive_int(raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number") from None
    if value <= 0:
        raise ValueError("must be a whole number greater than 0")
    return value


def _count(raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number") from None
    if value < 0:
        raise ValueError("must be 0 or a whole number greater than 0")
    return value


def _str(raw: Any) -> str:
    return str(raw)


def _database_url(raw: Any) -> str:
    text = str(raw)
    if not text.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
        raise ValueError("must start with sqlite://, postgresql:// or postgresql+psycopg://")
    if text.startswith("postgresql://"):
        # psycopg 3 is the driver we install; SQLAlchemy defaults to psycopg2 otherwise.
        text = "postgresql+psycopg://" + text[len("postgresql://") :]
    return text


def _optional_url(raw: Any) -> str | None:
    if raw in (None, ""):
        return None
    text = str(raw)
    if "://" not in text:
        raise ValueError("must be a URL such as redis://127.0.0.1:6379/0")
    return text


def _ice_servers(raw: Any) -> list[dict[str, Any]]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, list) or not all(isinstance(s, dict) and "urls" in s for s in value):
        raise ValueError('must be a JSON list like [{"urls": "stun:stun.example.jp:3478"}]')
    return value


def _log_level(raw: Any) -> str:
    text = str(raw).upper()
    if text not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
    return text


def _slots(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    slots = sorted({str(item).strip() for item in items if str(item).strip()})
    for slot in slots:
        hour, _, minute = slot.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"{slot!r} is not a time of day: give HH:MM times, comma-separated")
    if not slots:
        raise ValueError("give at least one HH:MM time")
    return [f"{int(s.split(':')[0]):02d}:{int(s.split(':')[1]):02d}" for s in slots]


@dataclass(frozen=True)
class Setting:
    """One setting: its Flask config key, default, parser and the help shown in docs."""

    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SECRET_KEY",
        None,
        _str,
        "Signs sessions and CSRF tokens. Generated into instance/secret_key on first start.",
    ),
    Setting(
        "DATA_KEY",
        None,
        _str,
        "Fernet key(s) encrypting residents' facts at rest, comma-separated, newest first "
        "(rotation). Generated into instance/data_key on first start.",
    ),
    Setting(
        "DATABASE_URL",
        None,
        _database_url,
        "SQLAlchemy URL. Default: SQLite at instance/kakanai.sqlite3. "
        "PostgreSQL: postgresql://user:pass@host/db.",
    ),
    Setting(
        "REDIS_URL",
        None,
        _optional_url,
        "Redis for live-update fan-out across several app processes. Unset: in-process.",
    ),
    Setting(
        "RULES_DIR",
        str(ROOT / "procedure_rules"),
        _str,
        "Folder of procedure rules, facts, events and the municipality profile.",
    ),
    Setting(
        "FORMS_DIR",
        str(ROOT / "form_definitions"),
        _str,
        "Folder of form definitions (one YAML per form).",
    ),
    Setting(
        "PDF_TEMPLATES_DIR",
        str(ROOT / "pdf_templates"),
        _str,
        "Folder of PDF templates (one folder per form).",
    ),
    Setting(
        "POLICY_REQUIRE_APPROVAL",
        True,
        _bool,
        "A rule-set version is published only after another policy user approved it (four eyes).",
    ),
    Setting(
        "POLICY_IMPACT_CASES",
        500,
        _count,
        "How many of the latest real cases an impact report evaluates, besides every scenario.",
    ),
    Setting(
        "POLICY_FILE_LIMIT",
        524288,
        _positive_int,
        "Largest size in bytes of one rule-set file a policy user may save or import.",
    ),
    Setting(
        "POLICY_LINT_SECONDS",
        30,
        _positive_int,
        "Time budget for checking a draft rule set; a draft that takes longer is refused.",
    ),
    Setting(
        "DOCUMENT_WORKERS",
        2,
        _count,
        "Worker processes rendering PDF packets (0: render inside the web process).",
    ),
    Setting(
        "DOCUMENT_RENDER_SECONDS",
        30,
        _positive_int,
        "Longest a PDF packet may take in the render workers; a slower one is stopped "
        "(its workers replaced) and answered in Japanese, so it cannot hold up the others.",
    ),
    Setting(
        "WORKING_REQUESTS",
        4,
        _count,
        "Requests one app process works on at once; its other threads wait their turn. "
        "Python threads share one interpreter lock, so more at once only adds switching. "
        "Open live-event streams and waits for video or PDF workers do not count. 0: no limit.",
    ),
    Setting(
        "REQUEST_SECONDS",
        10,
        _positive_int,
        "Time a client has to send a request's head and body (plus 1 s per 64 KiB of body) "
        "before it is answered 408. The body is read whole before the request takes a work "
        "slot, so a slow client never holds one.",
    ),
    Setting(
        "LIVE_STREAMS",
        32,
        _count,
        "Residents' live-event streams one app process holds open at once (each waits in a "
        "thread); beyond it a stream is refused with 503 and the page retries. Also at most "
        "2 per resident session and 4 per case. 0: no limit.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        _count,
        "Reverse proxies (nginx) in front of the app whose X-Forwarded-For/-Proto/-Host "
        "headers are believed, so links sent to residents say https. 0: no proxy.",
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        True,
        _bool,
        "Send session cookies over HTTPS only. Turn off only for a local demo over http.",
    ),
    Setting(
        "SESSION_HOURS",
        8,
        _positive_int,
        "How long a staff login lasts, in hours (one working day).",
    ),
    Setting(
        "JOIN_LINK_MINUTES",
        30,
        _positive_int,
        "How long a resident's join link stays valid, in minutes.",
    ),
    Setting(
        "JOIN_PIN_ATTEMPTS",
        5,
        _positive_int,
        "Wrong PINs after which a join link locks.",
    ),
    Setting(
        "LOGIN_ATTEMPTS",
        10,
        _positive_int,
        "Failed staff logins per account in 15 minutes before the account is locked.",
    ),
    Setting(
        "RETENTION_DAYS",
        90,
        _positive_int,
        "Days after a case is closed before its personal data is purged.",
    ),
    Setting(
        "ICE_SERVERS",
        [],
        _ice_servers,
        "STUN/TURN servers for WebRTC as JSON. Empty: host candidates only (a LAN).",
    ),
    Setting(
        "PREENTRY_KEY",
        None,
        _str,
        "Signs the pre-entry (事前入力) QR codes residents make before a visit; at least 32 "
        "characters, the same on every app process. Generated into instance/preentry_key on "
        "first start. Changing it makes every pre-entry QR already issued unreadable.",
    ),
    Setting(
        "BOOKING_SLOTS",
        ["09:00", "10:00", "11:00", "13:30", "14:30", "15:30"],
        _slots,
        "Times of day a visit can be booked (予約), HH:MM, comma-separated in the environment.",
    ),
    Setting(
        "BOOKING_CAPACITY",
        2,
        _positive_int,
        "Bookings one slot takes (desks that serve booked visits at once); a day takes "
        "this times the number of BOOKING_SLOTS.",
    ),
    Setting(
        "PREENTRY_DAYS",
        14,
        _positive_int,
        "How long a pre-entry QR stays valid, in days.",
    ),
    Setting(
        "MEDIA_LOOPBACK_ONLY",
        False,
        _bool,
        "Offer 127.0.0.1 as the media server's only ICE host candidate. For browser tests "
        "with server and browsers on one machine; never in production (nobody else can "
        "reach the call).",
    ),
    Setting(
        "CARD_TRUST_ANCHORS",
        "",
        _str,
        "PEM file of the My Number card issuer's (J-LIS) public keys, one or more: readings "
        "whose card certificate none of them signed are refused (docs/card-reader.md).",
    ),
    Setting(
        "RESIDENCE_CARD_TRUST_ANCHORS",
        "",
        _str,
        "PEM file of the 出入国在留管理庁 CA certificates, one or more: 在留カード等 readings whose "
        "signing certificate none of them issued are refused (docs/card-reader.md).",
    ),
    Setting(
        "LOG_LEVEL",
        "INFO",
        _log_level,
        "Logging level: DEBUG, INFO, WARNING or ERROR.",
    ),
)

_ENV_ALIASES = {"DATABASE_URL": "DATABASE_URL", "REDIS_URL": "REDIS_URL"}


def _instance_overrides(instance_path: Path) -> dict[str, Any]:
    path = instance_path / "config.py"
    if not path.exists():
        return {}
    namespace: dict[str, Any] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
    return {k: v for k, v in namespace.items() if k.isupper()}


def _generated(instance_path: Path, name: str, make: Callable[[], str]) -> str:
    path = instance_path / name
    if not path.exists():
        # Created private from the start: the key must never be world-readable, even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(make())
    return path.read_text(encoding="utf-8").strip()


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def load_settings(
    instance_path: Path,
    environ: Mapping[str, str],
    test_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge defaults, instance/config.py, KAKANAI_* variables and test_config; validate all."""
    raw: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    known = set(raw)
    overrides = _instance_overrides(instance_path)
    for key in overrides:
        if key not in known:
            raise ConfigError(
                f"instance/config.py: unknown setting {key} (known: {', '.join(sorted(known))})"
            )
    raw.update(overrides)
    sources = {name: "default" for name in raw} | {k: "instance/config.py" for k in overrides}
    for setting in SETTINGS:
        for var in (f"KAKANAI_{setting.name}", _ENV_ALIASES.get(setting.name)):
            if var and var in environ:
                raw[setting.name] = environ[var]
                sources[setting.name] = var
                break
    for key, value in (test_config or {}).items():
        raw[key] = value
        sources[key] = "test_config"

    settings: dict[str, Any] = {}
    for setting in SETTINGS:
        value = raw[setting.name]
        if value is None:
            settings[setting.name] = None
            continue
        try:
            settings[setting.name] = setting.parse(value)
        except (ValueError, json.JSONDecodeError) as exc:
            source = sources[setting.name]
            label = f"KAKANAI_{setting.name}" if source == "default" else source
            raise ConfigError(f"{label}: {exc} (got {value!r})") from None
    # Extra keys from test_config (e.g. TESTING) pass through untouched.
    for key, value in (test_config or {}).items():
        if key not in settings:
            settings[key] = value

    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _generated(
            instance_path, "secret_key", lambda: secrets.token_hex(32)
        )
    if not settings["DATA_KEY"]:
        settings["DATA_KEY"] = _generated(instance_path, "data_key", _fernet_key)
    if not settings["PREENTRY_KEY"]:
        settings["PREENTRY_KEY"] = _generated(
            instance_path, "preentry_key", lambda: secrets.token_urlsafe(32)
        )
    if len(settings["PREENTRY_KEY"].encode("utf-8")) < 32:
        raise ConfigError("KAKANAI_PREENTRY_KEY: must be at least 32 characters")
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{instance_path / 'kakanai.sqlite3'}"
    return settings


def settings_help() -> str:
    """Render every setting with its environment variable, default and help as Markdown."""
    lines = ["| variable | default | what it does |", "|---|---|---|"]
    for s in SETTINGS:
        default = (
            "(generated)" if s.name in {"SECRET_KEY", "DATA_KEY", "PREENTRY_KEY"} else s.default
        )
        if default is None:
            default = "(unset)"
        if isinstance(default, str) and default.startswith(str(ROOT)):
            default = default[len(str(ROOT)) + 1 :]
        lines.append(f"| `KAKANAI_{s.name}` | `{default}` | {s.help} |")
    return "\n".join(lines)


def environ() -> Mapping[str, str]:
    """Return the process environment (a seam so tests can pass their own)."""
    return os.environ
