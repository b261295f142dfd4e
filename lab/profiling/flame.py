"""Flame graphs as standalone SVG, sans-IO: stacks in, an SVG document out.

Written here because none of the well-kept renderers fits: py-spy draws its SVG only from a
recording it makes itself (not from stacks a batch keeps), and flamegraph.pl and inferno (which
also draw differential graphs) install from neither PyPI nor Debian. Each frame is a rectangle as
wide as its samples, its callers below it; hovering shows its µs per request. A differential
graph is drawn on the new stacks and coloured by how each frame's µs per request changed from
the base: red grew, blue shrank, white about the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from lab.profiling.stacks import Stack, Stacks, total

WIDTH = 1200  # px
ROW = 17  # px per frame
# Frames narrower than this share of the samples are left out: they would be under a pixel wide.
MIN_SHARE = 0.001
# A differential graph's colour is full at this change of a frame's µs per request, as a share of
# the base's whole CPU per request: 5% of all the time moved is as red (or blue) as it gets.
FULL_CHANGE = 0.05


@dataclass
class _Node:
    name: str
    samples: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(stacks: Stacks) -> _Node:
    root = _Node("all")
    for stack, samples in stacks.items():
        root.samples += samples
        node = root
        for frame in stack:
            node = node.children.setdefault(frame, _Node(frame))
            node.samples += samples
    return root


def _warm(name: str) -> str:
    """A stable warm colour per function name, as flame graphs are drawn."""
    digest = hashlib.blake2s(name.encode(), digest_size=2).digest()
    return f"rgb({205 + digest[0] % 50},{80 + digest[1] % 130},55)"


def _changed(change: float) -> str:
    """Red for growth, blue for shrinkage, scaled to FULL_CHANGE."""
    strength = min(1.0, abs(change) / FULL_CHANGE)
    fade = round(255 * (1 - strength))
    return f"rgb(255,{fade},{fade})" if change > 0 else f"rgb({fade},{fade},255)"


def _warm_by_name(path: Stack) -> str:
    return _warm(path[-1])


def _by_change(stacks: Stacks, us: float | None, base: Stacks, base_us_per_request: float | None
               ) -> Callable[[Stack], str]:
    """Each frame coloured by its µs per request here less in `base`, over the base's whole."""
    under, base_under, base_samples = _paths(stacks), _paths(base), total(base)
    base_us = (base_us_per_request or 0.0) / base_samples if base_samples else 0.0
    whole = base_us_per_request or 1.0
    return lambda path: _changed((under[path] * (us or 0.0) - base_under.get(path, 0) * base_us) / whole)


def _paths(stacks: Stacks) -> dict[Stack, int]:
    """Samples at or under each stack prefix (each frame of the graph)."""
    under: dict[Stack, int] = {}
    for stack, samples in stacks.items():
        for depth in range(1, len(stack) + 1):
            under[stack[:depth]] = under.get(stack[:depth], 0) + samples
    return under


def flame_graph(stacks: Stacks, us_per_request: float | None, title: str, base: Stacks | None = None,
                base_us_per_request: float | None = None) -> str:
    """The SVG of `stacks`, each frame hovering its µs per request (the run's CPU per request
    shared by samples). With `base`, a differential graph: coloured by the change of each frame's
    µs per request from the same frame in `base`."""
    samples = total(stacks)
    root = _tree(stacks)
    depth = _depth(root)
    height = (depth + 2) * ROW + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="11" role="img">',
             f'<title>{escape(title)}</title>',
             f'<text x="4" y="14" font-size="13">{escape(title)}</text>']
    if not samples:
        parts.append('<text x="4" y="34">no samples</text></svg>')
        return "\n".join(parts)
    us = us_per_request / samples if us_per_request is not None else None
    colour = _warm_by_name if base is None else _by_change(stacks, us, base, base_us_per_request)

    def draw(node: _Node, path: Stack, x: float, level: int) -> None:
        width = node.samples / samples * WIDTH
        if width < MIN_SHARE * WIDTH:
            return
        y = height - (level + 1) * ROW
        cost = f"{node.samples * us:,.2f} µs/request, " if us is not None else ""
        label = f"{node.name}: {cost}{node.samples:,} samples ({node.samples / samples:.1%})"
        fill = _warm("all") if not path else colour(path)
        parts.append(f'<g class="frame"><title>{escape(label)}</title>'
                     f'<rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{ROW - 1}" fill="{fill}" rx="1"/>')
        letters = int(width / 7)
        if letters >= 3:
            text = node.name if len(node.name) <= letters else node.name[:letters - 2] + ".."
            parts.append(f'<text x="{x + 3:.2f}" y="{y + ROW - 5}">{escape(text)}</text>')
        parts.append("</g>")
        offset = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, (*path, child.name), offset, level + 1)
            offset += child.samples / samples * WIDTH

    draw(root, (), 0.0, 0)
    parts.append("</svg>")
    return "\n".join(parts)


def _depth(node: _Node) -> int:
    return 1 + max((_depth(child) for child in node.children.values()), default=0)
