"""The HTML report in a real browser: headless Chromium renders it offline, and its DOM has every conversation."""

from __future__ import annotations

import importlib.util
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from servicecheck.formatters import get
from servicecheck.model import Report

HERE = Path(__file__).resolve().parent
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 60
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str | None:
    """The first Chromium binary found, or None."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


BROWSER = chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium binary found (install Debian's `chromium` package to run this test)"
)


def _sample_report() -> Report:
    # The fixture lives in test_formatters.py; load it by path so that this
    # module works under any pytest import mode.
    spec = importlib.util.spec_from_file_location("_formatter_fixture", HERE / "test_formatters.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_report()


def png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the set of distinct pixel values of an 8-bit RGB/RGBA PNG.

    A minimal decoder (IHDR, IDAT, the five filters) so that the test needs no
    imaging library.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG: depth {depth}, colour {colour}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            upleft = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - upleft
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else upleft)
                line[i] = (line[i] + pred) & 0xFF
        # Sampling every 4th pixel of every 8th row is plenty to tell a page from a blank.
        if y % 8 == 0:
            colours.update(bytes(line[x : x + 3]) for x in range(0, stride, 4 * bpp))
        previous = line
    return width, height, colours


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    """Run Chromium with the isolation flags, bounded by a timeout."""
    assert BROWSER is not None
    cmd = [BROWSER, *FLAGS, f"--user-data-dir={profile}", *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Chromium did not finish within {TIMEOUT_S} s: {' '.join(cmd)}")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Report]:
    report = _sample_report()
    html = get("html").render(report)
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path, html, report


def test_html_has_no_remote_resources(page: tuple[Path, str, Report]) -> None:
    _, html, _ = page
    remote = re.compile(
        r"""(?:\b(?:src|href|srcset|action|poster)\s*=\s*["']?\s*(?:https?:)?//)|@import|url\s*\(""", re.I
    )
    assert not remote.search(html), remote.search(html)
    assert "<link" not in html.lower()
    # The one script is the inline filter/sort script the CSP allows by its hash (no src, nothing loaded).
    from servicecheck.formatters.html import script

    text, source = script()
    assert html.lower().count("<script") == 1 and f"<script>{text}</script>" in html and f"script-src {source}" in html


def test_chromium_screenshot_is_not_blank(page: tuple[Path, str, Report], tmp_path: Path) -> None:
    path, _, _ = page
    shot = tmp_path / "shot.png"
    proc = run_chromium([f"--screenshot={shot}", "--window-size=1200,1600", path.as_uri()], tmp_path / "profile")
    assert shot.exists(), f"no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    width, height, colours = png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    # A blank page has one colour; text, badges, bars and highlights give many.
    assert len(colours) > 20, f"only {len(colours)} distinct colours: the page looks blank"


def test_chromium_dom_has_every_conversation(page: tuple[Path, str, Report], tmp_path: Path) -> None:
    path, _, report = page
    proc = run_chromium(["--dump-dom", path.as_uri()], tmp_path / "profile")
    dom = proc.stdout
    assert "<main>" in dom, f"no DOM dumped (exit {proc.returncode}): {proc.stderr[-2000:]}"
    for result in (*report.conversations, *report.documents):
        assert result.id in dom
    assert dom.count("<mark ") == 5
    assert "&lt;script&gt;" in dom  # the turn's markup stayed text
