"""Lists of whole numbers written as a person would: "0,1,4", "0-4", "0,2-3" (CPUs, stages)."""

from __future__ import annotations


def parse_ranges(text: str, what: str) -> list[int]:
    """'0,2-3' → [0, 2, 3], in the order given, without repeats; ValueError naming `what`."""
    numbers: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, dash, high = part.partition("-")
        try:
            span = range(int(low), int(high) + 1) if dash else range(int(part), int(part) + 1)
        except ValueError:
            raise ValueError(f"{what} must be numbers like 0,1,4 or 0-4, got {text!r}") from None
        numbers += [n for n in span if n not in numbers]
    if not numbers:
        raise ValueError(f"{what} must be numbers like 0,1,4 or 0-4, got {text!r}")
    return numbers
