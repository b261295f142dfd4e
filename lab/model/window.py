"""The measured window of a run: the wall-clock span every count, rate and CPU share is over."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: float  # wall clock, seconds
    end: float

    @classmethod
    def after_warmup(cls, started: float, warmup: float, duration: float) -> Window:
        """The window of a load that began at `started`: what follows its warm-up, for `duration`."""
        return cls(started + warmup, started + warmup + duration)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def __contains__(self, at: float) -> bool:
        return self.start <= at < self.end

    def moved(self, offset: float) -> Window:
        """The same window on a clock `offset` seconds ahead (another machine's onto this one's)."""
        return Window(self.start + offset, self.end + offset)

    def spanning(self, other: Window) -> Window:
        """The least window holding both: load processes' windows merged into one run's."""
        return Window(min(self.start, other.start), max(self.end, other.end))
