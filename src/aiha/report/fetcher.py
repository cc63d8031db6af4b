"""Weasyprint URL fetcher of the report: serves only the staged asset directory.

The HTML carries patient-derived free text: the fetcher serves only files under the
staged asset directory at the fixed base URL ``file:///report/`` (plus inline
``data:image/png`` / ``data:image/jpeg`` inside SVG figures) and stops the render on
anything else.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

ASSET_BASE_URL = "file:///report/"
CONTENT_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"]
_DATA_IMAGE = re.compile(r"^data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=\s]*)$", re.S)


# --------------------------------------------------------------------------- fetcher
def _weasyprint() -> Any:
    import weasyprint

    return weasyprint


class AssetRefused(Exception):
    """A URL the report may not fetch (reason in the message)."""


def _make_fetcher_class() -> type:
    wp = _weasyprint()
    from weasyprint.urls import FatalURLFetchingError, URLFetcherResponse

    class RefusedURLError(FatalURLFetchingError):
        """Raised inside weasyprint: fatal, so the render stops."""

    class _AssetURLFetcher(wp.URLFetcher):  # type: ignore[misc, name-defined]
        """Serve files under ``asset_dir`` at ``file:///report/``; refuse all else."""

        def __init__(self, asset_dir: str | os.PathLike[str]) -> None:
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False,
                             fail_on_errors=True, timeout=1)
            self.asset_dir = Path(asset_dir).resolve()
            self.served: list[str] = []
            self.refused: list[str] = []

        def resolve(self, url: str) -> Path:
            """The file under the asset directory that ``url`` names, or AssetRefused."""
            if not url.startswith(ASSET_BASE_URL):
                raise AssetRefused(f"outside {ASSET_BASE_URL}: {url[:200]!r}")
            parts = urlsplit(url)
            if parts.query or parts.netloc:
                raise AssetRefused(f"query or host not allowed: {url[:200]!r}")
            rel = unquote(parts.path).removeprefix("/report/")
            pure = PurePosixPath(rel)
            if (not rel or "\\" in rel or "\0" in rel or pure.is_absolute()
                    or any(p in ("..", ".", "") for p in pure.parts)):
                raise AssetRefused(f"bad asset path: {url[:200]!r}")
            path = (self.asset_dir / pure).resolve()
            if not path.is_relative_to(self.asset_dir) or not path.is_file():
                raise AssetRefused(f"no such asset: {url[:200]!r}")
            return path

        def fetch(self, url: str, headers: Any = None) -> Any:
            try:
                match = _DATA_IMAGE.match(url) if url.startswith("data:") else None
                if match:
                    body = base64.b64decode(re.sub(r"\s", "", match.group(2)), validate=True)
                    self.served.append(url[:40])
                    return URLFetcherResponse(url, body, {"Content-Type": match.group(1)})
                path = self.resolve(url)
            except (AssetRefused, ValueError) as error:
                self.refused.append(url)
                raise RefusedURLError(f"report asset refused: {error}") from error
            self.served.append(url)
            ctype = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": ctype})

    _AssetURLFetcher.RefusedURLError = RefusedURLError  # type: ignore[attr-defined]
    return _AssetURLFetcher


_FETCHER_CLASS: type | None = None


def AssetURLFetcher(asset_dir: str | os.PathLike[str]) -> Any:  # noqa: N802
    """A ``weasyprint.URLFetcher`` serving only ``asset_dir`` at ``file:///report/``.

    Refusal raises a subclass of ``weasyprint.urls.FatalURLFetchingError`` (the render
    stops); weasyprint is imported on first use only.
    """
    global _FETCHER_CLASS
    if _FETCHER_CLASS is None:
        _FETCHER_CLASS = _make_fetcher_class()
    return _FETCHER_CLASS(asset_dir)

