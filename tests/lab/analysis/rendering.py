"""A report page as headless Chromium renders it: what a reader would see, read from the DOM."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

# Injected into a copy of each page: once it has loaded, what a reader would see is written into
# the DOM that Chromium dumps (images that did not decode, the flame graphs as laid out, the
# page's text).
_PROBE = """<script>window.addEventListener("load", () => {
  const broken = [...document.images].filter(image => !image.complete || image.naturalWidth === 0).length;
  document.body.setAttribute("data-probe", JSON.stringify({images: document.images.length, broken,
    text: document.body.innerText,
    flames: [...document.querySelectorAll(".flame svg")].map(svg => ({width: svg.getBoundingClientRect().width,
      frames: svg.querySelectorAll("rect").length}))}));
});</script>"""


def rendered(chromium: str, page: Path, profile: Path) -> dict[str, object]:
    probed = page.with_name(f".probe-{page.name}")
    probed.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    try:
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()],
            capture_output=True, text=True, timeout=90, check=False,
        ).stdout
    finally:
        probed.unlink()
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found is not None, f"{page.name}: the page did not finish loading"
    return {**json.loads(html.unescape(found.group(1))), "dom": dom}
