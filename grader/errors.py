"""Typed errors raised by the library; the CLI turns each into one line and exit code 2."""

from __future__ import annotations


class GraderError(Exception):
    """Base class of every error the library raises on bad input."""


class RubricError(GraderError):
    """A rubric file or rubric data is invalid.

    The message names the file, then the location (``line N`` or a field path such as
    ``concepts[2].weight``), then what is wrong.
    """

    def __init__(self, message: str, *, path: str | None = None, location: str | None = None) -> None:
        self.path = path
        self.location = location
        self.detail = message
        parts = [p for p in (path, location) if p]
        super().__init__(": ".join([*parts, message]))


class InputError(GraderError):
    """A student answer, CSV file or command argument cannot be used."""


class OutputError(GraderError):
    """An output file cannot be written where asked (special file, symlink, unwritable folder).

    ``path`` is the file asked for and ``detail`` the problem; the message joins them.
    """

    def __init__(self, detail: str, *, path: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class ConfigError(GraderError):
    """The deployment's configuration cannot be used as it is (e.g. a passcode too short)."""


class StoreBusyError(GraderError):
    """The database stayed locked by another writer for too long; nothing was written."""


class MissingColumnError(InputError):
    """A table has no column of the name asked for; the message lists the columns it has.

    >>> str(MissingColumnError("a.csv", "answer", "'text'")), MissingColumnError("a.csv", "answer", "'text'").message("--answer-col")
    ("a.csv: no column 'answer'; columns are: 'text'", "a.csv: no column 'answer' (use --answer-col); columns are: 'text'")
    """

    def __init__(self, path: str, column: str, columns: str, *, option: str | None = None) -> None:
        self.path, self.column, self.columns = path, column, columns
        super().__init__(self.message(option))

    def message(self, option: str | None = None) -> str:
        """The message, pointing at ``option`` (how the caller names the column setting) if given."""
        use = f" (use {option})" if option else ""
        return f"{self.path}: no column {self.column!r}{use}; columns are: {self.columns}"
