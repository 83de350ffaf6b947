"""The Formatter protocol and the base class the built-in formatters share."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from servicecheck.model import InputProblem, Report, Result


@runtime_checkable
class Formatter(Protocol):
    """Renders a Report as text.

    Every method returns text that ends with a newline, or ``""`` when there is
    nothing to say; the caller writes it as is (``click.echo(s, nl=False)``).
    """

    name: str
    streams: bool

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the whole report."""
        ...

    def render_result(self, result: Result, *, color: bool = False) -> str:
        """Render one conversation or document unit (meaningful when ``streams``)."""
        ...

    def render_errors(self, errors: list[InputProblem]) -> str:
        """Render unreadable inputs."""
        ...


class BaseFormatter:
    """A whole-report formatter; streaming methods fall back to one-result reports."""

    name: str = ""
    streams: bool = False

    def render(self, report: Report, *, color: bool = False) -> str:  # pragma: no cover - abstract
        """Render the whole report."""
        raise NotImplementedError

    def render_result(self, result: Result, *, color: bool = False) -> str:
        """Render a report holding only ``result``."""
        report = Report()
        if result.conversation.kind == "transcript":
            report.conversations.append(result)
        else:
            report.documents.append(result)
        return self.render(report, color=color)

    def render_errors(self, errors: list[InputProblem]) -> str:
        """Render a report holding only ``errors``."""
        return self.render(Report(errors=list(errors)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
