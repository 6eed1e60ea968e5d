"""Store rule-set versions: import folders, copy a version to a draft, save a draft's files.

A version's files are named ``procedure_rules/…``, ``form_definitions/…`` and
``pdf_templates/…``; its name is the sha256 of those names and bytes. Published versions
are never written to again: every function here that changes files refuses anything but a
draft.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, select

from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent
from app.models.ruleset import CONTENT_ROOTS, EDITABLE_STATUSES, RuleSetFile, RuleSetVersion

# The seed applies to every application date: the day the calendar of Python starts.
FROM_THE_START = date(1, 1, 1)
# Files a version may hold: rules and forms are YAML; templates add HTML, CSS and images.
ALLOWED_SUFFIXES = frozenset({".yaml", ".yml", ".html", ".css", ".png", ".svg", ".md"})
TEXT_SUFFIXES = frozenset({".yaml", ".yml", ".html", ".css", ".svg", ".md"})


class VersionError(DomainError):
    """A refused change to a rule-set version; the message says what to do instead."""

    default_code = "ruleset_refused"


class EditConflict(VersionError):
    """Someone else saved the same draft file since this editor opened it."""

    status = 409
    default_code = "edit_conflict"


def content_hash(files: Mapping[str, bytes]) -> str:
    """Return the sha256 over every file's name and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        digest.update(name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def check_file_name(name: str) -> str:
    """Return a file name normalised to a rule-set path, or refuse one outside the rule set.

    :raises VersionError: absolute, with ``..``, outside the three folders or an unknown kind.
    """
    path = PurePosixPath(name.strip().replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise VersionError(
            f"ファイル名「{name}」は使えません。",
            hint="procedure_rules/ などからの相対パスで書いてください。",
        )
    if path.parts[0] not in CONTENT_ROOTS or len(path.parts) < 2:
        raise VersionError(
            f"ファイル「{name}」はルールセットの外です。",
            hint="procedure_rules/、form_definitions/、pdf_templates/ のどれかの下に置いてください。",
        )
    if path.suffix not in ALLOWED_SUFFIXES:
        raise VersionError(
            f"ファイル「{name}」の種類（{path.suffix or '拡張子なし'}）は置けません。",
            hint="YAML（.yaml）、HTML、CSS、PNG、SVG のどれかにしてください。",
        )
    return str(path)


def check_file_content(name: str, data: bytes, limit: int) -> None:
    """Refuse a file that is too large, or text that is not UTF-8.

    :raises VersionError: over ``limit`` bytes, or a text file that does not decode.
    """
    if len(data) > limit:
        raise VersionError(
            f"{name}: ファイルが大きすぎます（{len(data):,} バイト、上限 {limit:,} バイト）。",
            hint="ファイルを分けるか、不要な部分を削ってください。",
            code="file_too_large",
        )
    if PurePosixPath(name).suffix in TEXT_SUFFIXES:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise VersionError(
                f"{name}: UTF-8 の文字として読めません。",
                hint="UTF-8 で保存し直してください。",
                code="not_utf8",
            ) from None


def read_folders(folders: Mapping[str, Path], limit: int) -> dict[str, bytes]:
    """Read every allowed file under each content root's folder, named by the root.

    :raises VersionError: a file is too large or not UTF-8 text.
    """
    files: dict[str, bytes] = {}
    for root, folder in folders.items():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix not in ALLOWED_SUFFIXES:
                continue
            name = f"{root}/{path.relative_to(folder).as_posix()}"
            data = path.read_bytes()
            check_file_content(name, data, limit)
            files[name] = data
    return files


def config_folders(config: Mapping[str, Any]) -> dict[str, Path]:
    """Return the seed folders the app config names, keyed by content root."""
    return {
        "procedure_rules": Path(config["RULES_DIR"]),
        "form_definitions": Path(config["FORMS_DIR"]),
        "pdf_templates": Path(config["PDF_TEMPLATES_DIR"]),
    }


def dir_folders(root: Path) -> dict[str, Path]:
    """Return the content folders under one directory (an export, or a vendor's checkout)."""
    return {name: root / name for name in CONTENT_ROOTS}


def record(actor: str, action: str, version: RuleSetVersion, now: datetime, **extra: Any) -> None:
    """Add an audit event about a version to the current transaction."""
    detail = {"version_id": version.id, "version": version.name, **extra}
    db.session.add(AuditEvent(case_id=None, actor=actor, action=action, detail=detail, at=now))


def files_of(version: RuleSetVersion) -> dict[str, bytes]:
    """Return a version's files, name → bytes."""
    return {f.name: f.content for f in version.files}


def new_version(
    files: Mapping[str, bytes],
    *,
    actor: str,
    now: datetime,
    parent: RuleSetVersion | None,
    note: str,
) -> RuleSetVersion:
    version = RuleSetVersion(
        content_hash=content_hash(files),
        parent_id=parent.id if parent is not None else None,
        status="draft",
        note=note,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    version.files = [RuleSetFile(name=n, content=d, revision=1) for n, d in sorted(files.items())]
    db.session.add(version)
    db.session.flush()
    return version


def published_count() -> int:
    """Return how many versions have been published."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(RuleSetVersion)
            .where(RuleSetVersion.status == "published")
        )
        or 0
    )


def import_files(
    files: Mapping[str, bytes], *, actor: str, now: datetime, note: str
) -> RuleSetVersion:
    """Store files as a version (committed): the first one is published, later ones are drafts.

    The first version is the starting content and applies from the start of time; any later
    import goes through the same approval as an edit in the browser.

    :raises VersionError: no rules file among them.
    """
    if not any(n.startswith("procedure_rules/") and n.endswith((".yaml", ".yml")) for n in files):
        raise VersionError(
            "procedure_rules/ に YAML ファイルがありません。",
            hint="procedure_rules/、form_definitions/、pdf_templates/ を含むフォルダを指定してください。",
            code="empty_import",
        )
    first = published_count() == 0
    version = new_version(files, actor=actor, now=now, parent=latest_published(), note=note)
    if first:
        version.status = "published"
        version.effective_from = FROM_THE_START
        version.published_by = actor
        version.published_at = now
        record(actor, "ruleset_seeded", version, now)
    else:
        record(actor, "ruleset_imported", version, now)
    db.session.commit()
    return version


def ensure_seeded(config: Mapping[str, Any], now: datetime) -> None:
    """Import the configured folders as the first published version when there is none."""
    if published_count():
        return
    files = read_folders(config_folders(config), int(config.get("POLICY_FILE_LIMIT", 524288)))
    import_files(files, actor="system", now=now, note="初期内容（リポジトリのフォルダから）")


def latest_published() -> RuleSetVersion | None:
    """Return the most recently published version, if any."""
    return db.session.scalar(
        select(RuleSetVersion)
        .where(RuleSetVersion.status == "published")
        .order_by(RuleSetVersion.published_at.desc(), RuleSetVersion.id.desc())
        .limit(1)
    )


def all_versions() -> list[RuleSetVersion]:
    """Return every version, newest first."""
    return list(db.session.scalars(select(RuleSetVersion).order_by(RuleSetVersion.id.desc())))


def get_version(ref: str | int) -> RuleSetVersion:
    """Return the version with this number, or whose content hash starts with ``ref``.

    A hash names the newest version with that content (a rollback repeats an older one).

    :raises VersionError: no such version, or a hash prefix shorter than 4 characters.
    """
    text = str(ref).strip().lstrip("#")
    version: RuleSetVersion | None = None
    if text.isdigit() and len(text) < 8:
        version = db.session.get(RuleSetVersion, int(text))
    elif len(text) >= 4 and all(c in "0123456789abcdef" for c in text.lower()):
        version = db.session.scalar(
            select(RuleSetVersion)
            .where(RuleSetVersion.content_hash.startswith(text.lower()))
            .order_by(RuleSetVersion.id.desc())
            .limit(1)
        )
    if version is None:
        raise VersionError(
            f"版「{ref}」は見つかりません。",
            hint="`flask rules versions` か 版の一覧 で番号を確かめてください。",
            code="unknown_version",
            status=404,
        )
    return version


def create_draft(
    source: RuleSetVersion, *, actor: str, now: datetime, note: str = ""
) -> RuleSetVersion:
    """Start a draft (committed) with the files of any version as its content."""
    draft = new_version(files_of(source), actor=actor, now=now, parent=source, note=note)
    record(actor, "ruleset_draft_created", draft, now, source=source.name)
    db.session.commit()
    return draft


def require_draft(version: RuleSetVersion) -> None:
    """Refuse to change anything but a draft.

    :raises VersionError: the version is submitted, approved, published or withdrawn.
    """
    if version.status not in EDITABLE_STATUSES:
        raise VersionError(
            f"版 {version.name} は「{version.status_label}」なので変更できません。",
            hint="この版から新しい下書きを作って編集してください。",
            code="not_a_draft",
        )


def file_of(version: RuleSetVersion, name: str) -> RuleSetFile:
    """Return one file of a version.

    :raises VersionError: the version has no such file (404).
    """
    for item in version.files:
        if item.name == name:
            return item
    raise VersionError(
        f"版 {version.name} にファイル「{name}」はありません。", code="unknown_file", status=404
    )


def save_file(
    version: RuleSetVersion,
    name: str,
    data: bytes,
    *,
    expected_revision: int | None,
    actor: str,
    now: datetime,
    limit: int,
) -> RuleSetFile:
    """Write one file of a draft (committed), refusing a save that would overwrite another's.

    ``expected_revision`` is the revision the editor opened (None: a new file). The row is
    updated only where its revision still matches, so two saves racing in two processes
    cannot both win.

    :raises EditConflict: the file changed (or appeared) since the editor opened it.
    :raises VersionError: not a draft, a bad name, too large, or not UTF-8.
    """
    require_draft(version)
    name = check_file_name(name)
    check_file_content(name, data, limit)
    existing = next((f for f in version.files if f.name == name), None)
    if existing is None:
        if expected_revision is not None:
            raise EditConflict(
                f"{name} は他の人が削除しました。",
                hint="内容を控えてから、ページを開き直してください。",
            )
        item = RuleSetFile(name=name, content=data, revision=1)
        version.files.append(item)
    else:
        if expected_revision is None or existing.revision != expected_revision:
            raise EditConflict(
                f"{name} は、開いた後に {existing.revision - (expected_revision or 0)} 回"
                "ほかの人（または別の画面）が保存しています。上書きはしませんでした。",
                hint="あなたの変更を控えてから、ページを開き直して最新の内容に反映してください。",
            )
        updated = db.session.execute(
            RuleSetFile.__table__.update()
            .where(RuleSetFile.id == existing.id, RuleSetFile.revision == expected_revision)
            .values(content=data, revision=expected_revision + 1)
        )
        if getattr(updated, "rowcount", 1) != 1:
            db.session.rollback()
            raise EditConflict(
                f"{name} は同時にほかの人が保存しました。上書きはしませんでした。",
                hint="ページを開き直して最新の内容に反映してください。",
            )
        db.session.expire(existing)
        item = existing
    db.session.flush()
    db.session.refresh(version)
    version.content_hash = content_hash(files_of(version))
    version.updated_at = now
    record(actor, "ruleset_file_saved", version, now, file=name)
    db.session.commit()
    return item


def delete_file(version: RuleSetVersion, name: str, *, actor: str, now: datetime) -> None:
    """Remove one file from a draft (committed).

    :raises VersionError: not a draft, or no such file.
    """
    require_draft(version)
    item = file_of(version, name)
    version.files.remove(item)
    db.session.flush()
    version.content_hash = content_hash(files_of(version))
    version.updated_at = now
    record(actor, "ruleset_file_deleted", version, now, file=name)
    db.session.commit()


def export_version(version: RuleSetVersion, target: Path) -> int:
    """Write a version's files under ``target`` (one folder per content root); return the count."""
    for name, data in files_of(version).items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return len(version.files)
