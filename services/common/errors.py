"""Error descriptions that are safe to log and to put on dead letters: no input values."""

from __future__ import annotations

from pydantic import ValidationError


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(body)"


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """[{path, message}] per invalid field; pydantic's `input` and `ctx` are dropped on purpose."""
    return [{"path": _path(err["loc"]), "message": err["msg"]} for err in exc.errors()]


def describe_validation_error(exc: ValidationError) -> str:
    """One line per invalid field: `path: message`."""
    return "; ".join(f"{e['path']}: {e['message']}" for e in validation_errors(exc))


def describe_exception(exc: BaseException) -> str:
    """The error's type plus, for validation errors, field paths; other messages are dropped
    because they may quote patient data (e.g. a KeyError on a free-text key)."""
    if isinstance(exc, ValidationError):
        return f"ValidationError({exc.title}): {describe_validation_error(exc)}"
    if isinstance(exc, (UnicodeDecodeError, ValueError)) and "JSON" in type(exc).__name__:
        return f"{type(exc).__name__}: invalid JSON"
    if isinstance(exc, SafeError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


class SafeError(Exception):
    """An error whose message is known to hold no patient data, so it may be logged verbatim."""
