"""Headless Chromium for tests that look at a page as a person would: Debian's ``chromium``, installed if missing.

``chromium()`` returns the binary, installing the package with apt-get when the tests run as root on a Debian-like
machine (CI does); elsewhere it returns None and a reason, and the caller skips with it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_INSTALL_TIMEOUT_S = 900


def _find() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@cache
def chromium() -> tuple[str | None, str]:
    """(binary, "") when available; (None, why not) when it is not and cannot be installed here."""
    found = _find()
    if found:
        return found, ""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None, "chromium is not installed and apt-get as root is not available to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
    try:
        if subprocess.run(install, env=env, capture_output=True, timeout=_INSTALL_TIMEOUT_S).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=_INSTALL_TIMEOUT_S)
            done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S)
            if done.returncode != 0:
                return None, f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"apt-get install chromium did not finish: {exc}"
    found = _find()
    return (found, "") if found else (None, "apt-get installed chromium but no binary was found on PATH")


def _base(binary: str, profile: Path) -> list[str]:
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}"]


def screenshot(binary: str, page: Path, png: Path, *, width: int = 1300, height: int = 2400) -> None:
    cmd = [*_base(binary, png.parent / "profile-shot"), "--hide-scrollbars", f"--window-size={width},{height}"]
    subprocess.run([*cmd, f"--screenshot={png}", page.as_uri()], capture_output=True, timeout=120, check=True)


_PROBE = """<script>
window.addEventListener('load', () => {
  const images = [...document.images];
  const graph = document.querySelector('svg.graph');
  const box = graph ? graph.getBoundingClientRect() : null;
  document.body.setAttribute('data-probe', JSON.stringify({
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt || i.src.slice(0, 40)),
    sections: [...document.querySelectorAll('section > h2')].map(h => h.textContent),
    graph: box ? [Math.round(box.width), Math.round(box.height)] : null,
    nodes: document.querySelectorAll('svg.graph g.node').length,
  }));
});
</script>"""


@dataclass(frozen=True)
class PageProbe:
    """What the browser rendered: images (and the broken ones), section titles, graph size, console messages."""

    images: int
    broken: list[str]
    sections: list[str]
    graph: list[int] | None
    nodes: int
    console_messages: list[str]


def probe(binary: str, page: Path, workdir: Path) -> PageProbe:
    """Load a copy of ``page`` with a probe script appended (the page itself has none) and read the DOM back."""
    copy = workdir / f"probe-{page.name}"
    text = page.read_text(encoding="utf-8")
    copy.write_text(text.replace("</body>", _PROBE + "</body>") if "</body>" in text else text + _PROBE, "utf-8")
    cmd = [*_base(binary, workdir / "profile-probe"), "--enable-logging=stderr", "--v=0", "--dump-dom"]
    done = subprocess.run([*cmd, copy.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    match = re.search(r'data-probe="([^"]*)"', done.stdout)
    if match is None:
        raise AssertionError(f"the probe did not run; DOM starts {done.stdout[:300]!r}")
    found = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    # The report has no script and the probe logs nothing: any console message is a problem worth failing on.
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return PageProbe(console_messages=console, **found)
