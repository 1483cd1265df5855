"""The Snakemake report of a finished run opens in a real browser (headless Chromium) and shows
every figure: listed in its menu, decoded at the size of the PNG the workflow wrote, with its
caption rendered from the config."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import snakemake_cmd

RUN_FIGURES = {
    "load_displacement.png",
    "md_updates_by_source.png",
    "provenance_maps.png",
    "stress_strain_paths.png",
    "representatives.png",
}
PROBE = Path(__file__).parent / "report" / "probe.js"


def chromium() -> str:
    """The browser, or a skip where it is missing; under CI a missing browser is a failure."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (Debian package chromium; make apt)")
        pytest.skip("chromium is not installed (Debian package chromium; make apt)")
    return path


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def browse(browser: str, report: Path) -> dict:
    """Open the report with the probe appended; return what the probe saw in the rendered page."""
    html = report.read_text()
    end = html.rfind("</body>")
    probed = report.with_name("probed_" + report.name)
    probed.write_text(html[:end] + "<script>" + PROBE.read_text() + "</script>" + html[end:])
    with tempfile.TemporaryDirectory(prefix="chromium_profile_") as profile:
        proc = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=20000",
                "--dump-dom",
                probed.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    match = re.search(r'<pre id="figure-check">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"the report did not render (chromium exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


@pytest.mark.workflow
def test_report_of_a_run_shows_every_figure_in_chromium(brute_force_run, tmp_path):
    browser = chromium()
    report = tmp_path / "report.html"
    proc = subprocess.run(
        snakemake_cmd(brute_force_run, brute_force_run / "config.yaml", "--report", str(report)),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = browse(browser, report)

    assert set(seen["listed"]) == RUN_FIGURES, seen["menu"]
    for path, size in seen["figures"].items():
        assert size is not None, f"{path}: no <img> in the report's content view"
        assert (size["width"], size["height"]) == png_size(brute_force_run / path), path
    assert {Path(p).name for p in seen["figures"]} == RUN_FIGURES
    # captions are templates: the config's reaction face is filled in
    caption = seen["captions"]["results/plots/load_displacement.png"]
    assert "reaction force on zmax" in caption, caption
