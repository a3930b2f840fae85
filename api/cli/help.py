"""How `psvs-ledger` explains itself: every command's options with their defaults.

`Parser` is the command line's parser class; its subcommands (`add_subparsers`) are made of
the same class, so each of them shows `(default: ...)` after an option's help. A default of
None is not shown: such an option's help says what applies without it.
"""

from __future__ import annotations

import argparse
from typing import Any


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's defaults formatter, without `(default: None)`."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help shows each option's default (and its subcommands' too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


# Option types: argparse names the function in its error ("invalid port value: '80a'").
def port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError(text)
    return value


def count(text: str) -> int:
    """A whole number, at least 1."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def days(text: str) -> int:
    """A whole number of days, 0 or more."""
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value
