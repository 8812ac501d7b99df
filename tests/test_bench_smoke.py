"""The speed benchmarks still run (they measure, the tests do not time anything): the server-time benchmark on
one page through AppTest, and the browser benchmark on one page in Chromium against a real server."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, require_browser

ENV = dict(os.environ, OMP_NUM_THREADS="1")


@pytest.mark.slow
def test_explorables_benchmark_runs_a_page():
    out = subprocess.run([sys.executable, "bench/explorables.py", "--pages", "bilinear", "--moves", "1", "--json"],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600, check=True).stdout
    result = json.loads(out[out.index("{"):])
    page = result["pages"]["bilinear"]
    assert result["bare_ms"] > 0 and page["first_ms"] > 0
    assert len(page["moves"]) >= 5 and not page["errors"]  # every widget of the page was moved once
    assert len(page["view_moves"]) + len(page["model_moves"]) == len(page["moves"])


@pytest.mark.browser
def test_browser_benchmark_times_slider_moves():
    require_browser()
    out = subprocess.run([sys.executable, "bench/browser_moves.py", "--pages", "bilinear", "--moves", "2",
                          "--sliders", "1"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600,
                         check=True).stdout
    assert "bare page (one slider, one heatmap), 12 moves" in out
    row = next(line for line in out.splitlines() if line.startswith("bilinear"))
    assert int(row.split()[2]) == 2  # two moves of its first slider, each timed from its websocket messages
