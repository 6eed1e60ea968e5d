"""The only way WeasyPrint reads anything: template files and generated data, nothing else.

Forms carry personal data; a template (or a value smuggled into one) must not be able to
make the renderer read ``/etc/passwd``, another case's files, or anything on the network.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger("app.documents")

# Generated data travels inline as data: URLs (the hash QR, the resident's signature).
ALLOWED_DATA_TYPES = {"image/png", "image/svg+xml"}
ALLOWED_SUFFIXES = {".css", ".png", ".svg"}


class RefusedURL(ValueError):
    """The renderer was asked for something outside the templates and generated data."""


class TemplateFetcher(URLFetcher):
    """Serve files under the templates root and inline generated images; refuse the rest."""

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols={"file", "data"}, fail_on_errors=False)
        self.root = root.resolve()

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:  # noqa: ARG002
        """Return the resource at ``url`` or raise RefusedURL (logged) when it is not allowed."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            return self._file(url)
        return self._refuse(url, "only template files and generated data may be read")

    def _data(self, url: str) -> URLFetcherResponse:
        header, sep, payload = url[len("data:") :].partition(",")
        media_type = header.split(";")[0].lower()
        if not sep or media_type not in ALLOWED_DATA_TYPES or not header.endswith(";base64"):
            return self._refuse(url, "inline data must be a base64 PNG or SVG image")
        try:
            body = base64.b64decode(payload, validate=True)
        except ValueError:
            return self._refuse(url, "inline data is not valid base64")
        return URLFetcherResponse(url, body, {"Content-Type": media_type})

    def _file(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return self._refuse(url, "file URLs on other hosts are not allowed")
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if not path.is_relative_to(self.root):
            return self._refuse(url, f"outside the templates folder {self.root}")
        if path.suffix.lower() not in ALLOWED_SUFFIXES or not path.is_file():
            return self._refuse(url, "not a stylesheet or image of the templates")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})

    def _refuse(self, url: str, reason: str) -> URLFetcherResponse:
        shown = url if len(url) <= 120 else url[:117] + "..."
        log.warning("documents: refused to fetch %s: %s", shown, reason)
        raise RefusedURL(f"{shown}: {reason}")
