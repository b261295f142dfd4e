"""The measured window: from the end of the warm-up, for the scenario's duration, start included."""

from __future__ import annotations

from lab.model.window import Window


def test_a_window_holds_its_start_and_not_its_end() -> None:
    window = Window.after_warmup(100.0, 2.0, 3.0)
    assert window == Window(102.0, 105.0) and window.seconds == 3.0
    assert 102.0 in window and 104.999 in window
    assert 101.999 not in window and 105.0 not in window


def test_windows_move_onto_another_clock_and_span_each_other() -> None:
    assert Window(10.0, 20.0).moved(-2.5) == Window(7.5, 17.5)
    assert Window(10.0, 20.0).spanning(Window(12.0, 25.0)) == Window(10.0, 25.0)
    assert Window(12.0, 18.0).spanning(Window(10.0, 15.0)) == Window(10.0, 18.0)
