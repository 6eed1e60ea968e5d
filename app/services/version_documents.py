"""The form templates a case's documents are printed with: those of the rule-set version that
applies to the case (issue 14), not whatever is on the server's disk.

A version holds ``pdf_templates/…`` with its rules and forms. A case evaluated with a
version is rendered — on screen, as a PDF, in the signed packet — with that version's
templates. Versions whose templates are the ones the app started with share the app's
renderer (warmed up, with its worker processes); any other set of templates is written once
per process to ``<instance>/version_templates/<hash>/`` (content-addressed, so it never goes
stale and two processes writing it write the same bytes) and gets a renderer of its own,
a few kept at a time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select

from app.documents import Documents, documents
from app.engine import RuleSet
from app.extensions import db
from app.models.ruleset import RuleSetVersion
from app.services.ruleset_store import content_hash, files_of, read_folders

ROOT = "pdf_templates/"
# Renderers kept for templates other than the app's own: one per set of templates in force
# over recent years (each holds its parsed templates and a small PDF cache).
KEEP = 4
_DISK_KEY = "kakanai_disk_templates"

_lock = threading.Lock()
# (instance folder, version name) -> hash of the version's templates
_key_of_version: dict[tuple[str, str], str] = {}
_renderers: OrderedDict[str, Documents] = OrderedDict()


def templates_of(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """Return a version's template files, named relative to ``pdf_templates/``."""
    return {n[len(ROOT) :]: data for n, data in files.items() if n.startswith(ROOT)}


def templates_key(templates: Mapping[str, bytes]) -> str:
    """Return the content hash that names a set of template files."""
    return content_hash(templates)


def disk_key(app: Flask) -> str:
    """Return the hash of the templates the app was started with (read once per app)."""
    found = app.extensions.get(_DISK_KEY)
    if found is None:
        folder = Path(app.config.get("PDF_TEMPLATES_DIR") or documents().root)
        limit = int(app.config.get("POLICY_FILE_LIMIT", 524288))
        files = read_folders({"pdf_templates": folder}, limit)
        found = app.extensions[_DISK_KEY] = templates_key(templates_of(files))
    return str(found)


def write_templates(target: Path, templates: Mapping[str, bytes]) -> Path:
    """Write a set of templates to a folder once (atomically: a whole folder or none)."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=target.parent))
    try:
        for name, data in templates.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            os.rename(staging, target)
        except OSError:  # another process wrote the same content first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _version_named(name: str) -> RuleSetVersion | None:
    """Return the stored version a rule set's name (its short content hash) stands for."""
    return db.session.scalar(
        select(RuleSetVersion).where(RuleSetVersion.content_hash.startswith(name)).limit(1)
    )


def _key_for(app: Flask, ruleset: RuleSet) -> str | None:
    """Return the templates hash of the rule set's version, writing the folder on first use."""
    known = (app.instance_path, ruleset.version)
    with _lock:
        key = _key_of_version.get(known)
    # Known, and its folder still there (or the app's own): no query. A folder removed
    # under the running app (instance cleaned) is written again below.
    if key is not None and (key == disk_key(app) or folder_for(app, key).is_dir()):
        return key
    version = _version_named(ruleset.version)
    if version is None:
        return None
    key = _register(app, version)
    with _lock:
        _key_of_version[known] = key
    return key


def _register(app: Flask, version: RuleSetVersion) -> str:
    """Return the templates hash of a version, writing its folder when it is not the app's."""
    templates = templates_of(files_of(version))
    key = templates_key(templates)
    if key != disk_key(app):
        write_templates(folder_for(app, key), templates)
    return key


def folder_for(app: Flask, key: str) -> Path:
    """Return the folder a set of templates is written to."""
    return Path(app.instance_path) / "version_templates" / key[:24]


def documents_for(ruleset: RuleSet) -> Documents:
    """Return the renderer for the templates of the version the rule set was loaded from.

    A rule set that comes from no stored version (a command run on folders) and a version
    whose templates are the app's own both get the app's renderer.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _renderer(app, _key_for(app, ruleset))


def documents_for_version(version: RuleSetVersion) -> Documents:
    """Return the renderer for a version's own templates (a draft's, to preview them)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _renderer(app, _register(app, version))


def _renderer(app: Flask, key: str | None) -> Documents:
    """Return the renderer of a set of templates (the app's own for None or its hash)."""
    if key is None or key == disk_key(app):
        return documents()
    folder = folder_for(app, key)
    with _lock:
        found = _renderers.get(str(folder))
        if found is not None:
            _renderers.move_to_end(str(folder))
            return found
    renderer = Documents(folder)
    with _lock:
        found = _renderers.setdefault(str(folder), renderer)
        _renderers.move_to_end(str(folder))
        while len(_renderers) > KEEP:
            _renderers.popitem(last=False)
    return found
