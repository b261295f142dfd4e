"""Flame graphs in memory (lab.profiling.flame): a frame as wide as its samples, above its caller,
saying its µs per request; a differential graph red where a frame grew, blue where it shrank."""

from __future__ import annotations

import re
from collections import Counter
from xml.etree import ElementTree

from lab.profiling.flame import WIDTH, flame_graph

SVG = "{http://www.w3.org/2000/svg}"


def frames(svg: str) -> dict[str, dict[str, str]]:
    """Each frame's label (its name up to the colon) → its rect's attributes and its tooltip."""
    root = ElementTree.fromstring(svg)
    out = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        rect = group.find(f"{SVG}rect")
        assert title is not None and rect is not None and title.text is not None
        out[title.text.split(":")[0]] = {**rect.attrib, "tooltip": title.text}
    return out


def test_a_frame_is_as_wide_as_its_samples_above_its_caller_with_its_us_per_request() -> None:
    stacks = Counter({("main", "parse"): 30, ("main", "write"): 10, ("idle",): 60})
    drawn = frames(flame_graph(stacks, 50.0, "stage4 <plaintext>"))
    assert float(drawn["main"]["width"]) == 0.4 * WIDTH and float(drawn["parse"]["width"]) == 0.3 * WIDTH
    assert float(drawn["parse"]["y"]) < float(drawn["main"]["y"]) < float(drawn["all"]["y"])  # callers below
    assert float(drawn["write"]["x"]) == float(drawn["parse"]["x"]) + 0.3 * WIDTH  # siblings side by side
    assert drawn["parse"]["tooltip"] == "parse: 15.00 µs/request, 30 samples (30.0%)"
    assert "stage4 &lt;plaintext&gt;" in flame_graph(stacks, 50.0, "stage4 <plaintext>")  # escaped
    assert "µs/request" not in frames(flame_graph(stacks, None, "t"))["parse"]["tooltip"]
    assert "no samples" in flame_graph(Counter(), 1.0, "t")


def test_a_frame_under_a_thousandth_of_the_samples_is_left_out() -> None:
    stacks = Counter({("main",): 10_000, ("main", "rare"): 5})
    assert "rare" not in frames(flame_graph(stacks, 1.0, "t"))


def _fill(drawn: dict[str, dict[str, str]], name: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", drawn[name]["fill"])
    assert match is not None
    red, green, blue = map(int, match.groups())
    return red, green, blue


def test_a_differential_graph_is_red_where_a_frame_grew_and_blue_where_it_shrank() -> None:
    base = Counter({("main", "parse"): 50, ("main", "write"): 50})
    new = Counter({("main", "parse"): 80, ("main", "write"): 20, ("main", "same"): 1})
    drawn = frames(flame_graph(new, 100.0, "diff", base, 100.0))
    red, green, blue = _fill(drawn, "parse")  # 50 → 80 µs/request: grew by 30% of the base's whole
    assert red == 255 and green == blue == 0
    red, green, blue = _fill(drawn, "write")
    assert blue == 255 and red == green == 0
    red, green, blue = _fill(drawn, "same")  # 0 → 1 µs: a small change, pale
    assert red == 255 and green == blue and green > 200
    # Equal shares of a larger CPU per request grew too: the colour follows µs, not share.
    doubled = frames(flame_graph(base, 200.0, "diff", base, 100.0))
    assert _fill(doubled, "parse")[0] == 255 and _fill(doubled, "parse")[1] == 0
    assert _fill(frames(flame_graph(base, 100.0, "diff", base, 100.0)), "parse") == (255, 255, 255)
