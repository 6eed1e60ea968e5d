"""The PDF template folders (帳票テンプレート), loaded once, and their sandboxed Jinja environment.

Layout of ``pdf_templates/``::

    _shared/            macros, the base stylesheet, the document shell, the cover sheet
    <form_id>/          template.html, style.css, meta.yaml, sample.yaml

A folder whose name starts with ``_`` is not a form.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from app.engine.wareki import format_wareki

SHARED = "_shared"
TEMPLATE_FILE = "template.html"
STYLE_FILE = "style.css"
META_KEYS = {"title", "version", "file_name"}

# IPAex has no ☑/☐ (U+2611/U+2610); print them with glyphs it has, so no other font
# (and no tofu) ends up in the PDF. Tests normalise expected text the same way.
PRINT_GLYPHS = str.maketrans({"☑": "■", "☐": "□"})


class TemplateError(Exception):
    """A template folder is incomplete or malformed; the message names the file and the fix."""


@dataclass(frozen=True)
class FormTemplate:
    """One form's template folder: metadata, sample values and a digest of its files."""

    form_id: str
    folder: Path
    title: str
    version: str
    file_name: str
    sample: Mapping[str, Any]
    digest: str  # of this folder's files and _shared/: a cache key part that cannot go stale

    @property
    def stylesheets(self) -> tuple[str, ...]:
        """Return the stylesheet paths relative to the templates root, base first."""
        return (f"{SHARED}/base.css", f"{self.form_id}/{STYLE_FILE}")


def _finalize(value: Any) -> Any:
    """Print unknown values as blank boxes, never as the word ``None``."""
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, Markup):
        return value.translate(PRINT_GLYPHS)
    return value


def _digest_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise TemplateError(f"{where}: invalid YAML ({exc})") from None


def _check_values(path: Path, sample: Any) -> Mapping[str, Any]:
    if not isinstance(sample, dict) or set(sample) - {"fields", "rows"}:
        raise TemplateError(f"{path}:1:1: sample must be a mapping with 'fields' and 'rows'")
    sample.setdefault("fields", {})
    sample.setdefault("rows", {})
    if not isinstance(sample["fields"], dict) or not isinstance(sample["rows"], dict):
        raise TemplateError(f"{path}:1:1: 'fields' and 'rows' must be mappings")
    return sample


class Catalog:
    """Every template folder under one root, read once; renders form and shell templates."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        shared = self.root / SHARED
        if not shared.is_dir():
            raise TemplateError(f"{shared}: missing the shared folder (macros and base.css)")
        shared_digest = _digest_files([p for p in shared.iterdir() if p.is_file()])
        self.forms: dict[str, FormTemplate] = {}
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if folder.name.startswith(("_", ".")):
                continue
            self.forms[folder.name] = self._load_form(folder, shared_digest)
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(self.root)),
            autoescape=True,
            undefined=StrictUndefined,
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # content is loaded once; restart to pick up edits
        )
        # Helpers every template and macro may call: pure functions of their arguments.
        self.env.globals.update(padded=padded, boxed=boxed, lines=lines_of)
        self.env.filters["wareki"] = wareki_of

    def _load_form(self, folder: Path, shared_digest: str) -> FormTemplate:
        for name in (TEMPLATE_FILE, STYLE_FILE, "meta.yaml", "sample.yaml"):
            if not (folder / name).is_file():
                raise TemplateError(f"{folder / name}: missing (every form folder needs it)")
        meta = _read_yaml(folder / "meta.yaml")
        if not isinstance(meta, dict) or set(meta) != META_KEYS:
            raise TemplateError(
                f"{folder / 'meta.yaml'}:1:1: keys must be exactly {sorted(META_KEYS)}"
            )
        sample = _check_values(folder / "sample.yaml", _read_yaml(folder / "sample.yaml"))
        files = [p for p in folder.iterdir() if p.is_file() and p.name != "sample.yaml"]
        return FormTemplate(
            form_id=folder.name,
            folder=folder,
            title=str(meta["title"]),
            version=str(meta["version"]),
            file_name=str(meta["file_name"]),
            sample=sample,
            digest=hashlib.sha256((_digest_files(files) + shared_digest).encode()).hexdigest(),
        )

    def form(self, form_id: str) -> FormTemplate:
        """Return the template of ``form_id``; raise TemplateError naming the folder if none."""
        try:
            return self.forms[form_id]
        except KeyError:
            raise TemplateError(
                f"{self.root / form_id}: no template for form '{form_id}' "
                f"(add the folder with {TEMPLATE_FILE}, {STYLE_FILE}, meta.yaml, sample.yaml)"
            ) from None

    def render(self, name: str, **variables: Any) -> str:
        """Render a template by its path under the root."""
        return self.env.get_template(name).render(**variables)


class Record:
    """Values a template reads as ``fields.name``: a dot never reaches a dict method.

    Strict records raise for an id they do not hold, so a template that names a field the
    definition lacks fails loudly; blank (padding) records print every id as empty.
    """

    __slots__ = ("_data", "_strict")

    def __init__(self, data: Mapping[str, Any], *, strict: bool = True) -> None:
        object.__setattr__(self, "_data", dict(data))
        object.__setattr__(self, "_strict", strict)

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        if object.__getattribute__(self, "_strict"):
            raise AttributeError(f"no value '{name}'")
        return None

    def __getitem__(self, name: str) -> Any:
        try:
            return self.__getattr__(name)
        except AttributeError as exc:
            raise KeyError(name) from exc

    def __bool__(self) -> bool:
        return bool(object.__getattribute__(self, "_data"))


def record_of(values: Mapping[str, Any]) -> tuple[Record, Record]:
    """Wrap ``{fields, rows}`` for templates: ``fields.x`` and ``rows.members[0].name``."""
    rows = {
        row_id: [Record(r) for r in (items or [])]
        for row_id, items in (values.get("rows") or {}).items()
    }
    return Record(values.get("fields") or {}), Record(rows)


def padded(rows: list[Record] | None, size: int) -> list[Record]:
    """Return ``rows`` padded with blank rows up to the ``size`` rows the paper form has."""
    rows = list(rows or [])
    return rows + [Record({}, strict=False) for _ in range(max(0, size - len(rows)))]


def boxed(value: Any, size: int) -> list[str]:
    """Split a value into single-character cells (個人番号, 被保険者番号 boxes).

    A value longer than the boxes the paper has gets extra boxes: never drop a digit.
    """
    text = "" if value is None else str(value).replace(" ", "").replace("-", "")
    cells = list(text.removeprefix("〒"))
    return cells + [""] * (size - len(cells))


def lines_of(value: Any) -> Markup:
    """Escape a value and keep its line breaks (addresses written on two lines)."""
    text = "" if value is None else str(value).translate(PRINT_GLYPHS)
    # Each part is escaped; only the <br> we add is markup.
    return Markup("<br>".join(escape(part) for part in text.split("\n")))  # noqa: S704


def wareki_of(value: Any) -> str:
    """Write an ISO date (a Result's deadline) in the Japanese era: 令和7年4月21日."""
    if not value:
        return ""
    try:
        return format_wareki(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


_CATALOGS: dict[Path, Catalog] = {}


def catalog_for(root: Path | str) -> Catalog:
    """Return the catalog of ``root``, loading it on first use (once per process)."""
    path = Path(root).resolve()
    if path not in _CATALOGS:
        _CATALOGS[path] = Catalog(path)
    return _CATALOGS[path]
