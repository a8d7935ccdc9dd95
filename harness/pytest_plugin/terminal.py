"""What the harness writes to the terminal: its own lines below pytest's, the run's status line (redrawn in place
on a terminal), and the line a stopped run ends with."""

from __future__ import annotations

import pytest

from harness.engine.progress import StatusPrinter


def writer(config: pytest.Config):
    """Writes a line of the harness's own to the terminal, below whatever pytest left on the current line."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return print

    def write(line: str) -> None:
        if reporter._tw.width_of_current_line:  # pytest's progress dots end their line only later
            reporter._tw.line()
        reporter.write_line(line)

    return write


def status_printer(config: pytest.Config, status_dir) -> StatusPrinter:
    """The run's status line: redrawn in place where pytest writes to a terminal (on a line of its own once pytest
    has written after it), a new line each time elsewhere."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not getattr(reporter, "isatty", False):
        return StatusPrinter(status_dir, writer(config))
    drawn = {"width": -1}

    def redraw(line: str) -> None:
        if reporter._tw.width_of_current_line not in (0, drawn["width"]):  # pytest wrote after the last status
            reporter._tw.line()
        reporter.rewrite(line, erase=True)
        drawn["width"] = reporter._tw.width_of_current_line

    def end() -> None:
        if reporter._tw.width_of_current_line == drawn["width"]:  # the status is the last line: leave it
            reporter._tw.line()

    return StatusPrinter(status_dir, writer(config), redraw=redraw, end=end)


def stopped_line(done: int, not_finished: int) -> str:
    return (
        f"harness: stopped: {done} jobs done, {not_finished} not finished (cancelled); rerun the same command to resume"
    )
