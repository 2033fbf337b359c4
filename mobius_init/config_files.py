"""Settings files: every command built from settings reads them (``--config FILE``, YAML or JSON, nested as
the settings dataclasses or flat by option name; a result's report too) and writes them
(``--print-config``). A file's values become the options' defaults, so the command line overrides them;
each value is checked as the same option's text is, and an error names the file and the key."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .settings import with_values


def add_settings_file_options(parser: argparse.ArgumentParser, template: Any, names: dict[str, str]) -> None:
    """``--config FILE`` (repeatable) and ``--print-config`` for the settings ``names`` (dotted path -> option
    destination) of ``template`` (a settings dataclass; None for a function's keyword parameters)."""
    parser.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="a YAML (or JSON) file of these settings, nested as --print-config writes them or flat by option "
        "name (vocab_size: 8192); a result directory's results.json loads too (its keys that the command sets "
        "itself are ignored). Later files override earlier ones; options on the command line override them all "
        "(default: none)",
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the effective settings as YAML and exit (no work)"
    )
    parser.set_defaults(settings_parser=parser, settings_template=template, settings_names=names)


def _leaves(data: dict[str, Any], path: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{path}{key}.")
        else:
            yield f"{path}{key}", value


def _is_field(template: Any, dotted: str) -> bool:
    """Whether ``dotted`` names a field of the settings dataclass ``template`` (at any depth)."""
    for name in dotted.split("."):
        if not dataclasses.is_dataclass(template) or name not in {f.name for f in dataclasses.fields(template)}:
            return False
        template = getattr(template, name)
    return True


def _parse_setting(value: Any, action: argparse.Action, where: str) -> Any:
    """A value read from a settings file, checked as the command line checks the same option's text."""
    if isinstance(action, argparse.BooleanOptionalAction):
        if not isinstance(value, bool):
            raise SettingsFileError(f"{where}: expected true or false, got {value!r}")
        return value
    if value is None and action.choices is not None and None in action.choices:
        return None
    if value == [] and isinstance(action.default, tuple):
        return ()
    text = "none" if value is None else ",".join(map(str, value)) if isinstance(value, list) else str(value)
    try:
        parsed = action.type(text) if action.type else text
    except argparse.ArgumentTypeError as exc:
        raise SettingsFileError(f"{where}: {exc}") from None
    except (ValueError, TypeError):
        raise SettingsFileError(
            f"{where}: expected {getattr(action.type, '__name__', 'a value')}, got {value!r}"
        ) from None
    if value is None and parsed is not None:
        raise SettingsFileError(f"{where}: needs a value, got null")
    if action.choices is not None and parsed not in action.choices:
        raise SettingsFileError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    return parsed


class SettingsFileError(ValueError):
    """A settings file that cannot be read as the command's settings; the message names the file and key."""


def read_settings_file(path: str, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The option values (destination -> value) a settings file gives the command of ``parser``
    (see :func:`add_settings_file_options`); :class:`SettingsFileError` for a key that is no setting, a
    value of the wrong type, or two keys setting one option."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise SettingsFileError(f"--config {path!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SettingsFileError(f"--config {path}: not YAML or JSON ({str(exc).splitlines()[0]})") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise SettingsFileError(f"--config {path}: expected a mapping of settings, got {type(data).__name__}")
    template, names = parser.get_default("settings_template"), parser.get_default("settings_names")
    for key in ("config", "params"):  # a result's report: its settings are under one of these
        if isinstance(data.get(key), dict) and not _is_field(template, key):
            data = data[key]
            break
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    values: dict[str, Any] = {}
    given: dict[str, str] = {}
    for dotted, value in _leaves(data):
        dest = names.get(dotted) or (dotted if dotted in names.values() else None)
        if dest is None:
            if _is_field(template, dotted):
                continue  # a setting this command fixes itself (a run's seed, progress bars): as stored, not asked
            raise SettingsFileError(
                f"--config {path}: {dotted!r} is not a setting of this command (see --print-config)"
            )
        option = next(o for o in actions[dest].option_strings if o.startswith("--"))
        if dest in given:
            raise SettingsFileError(f"--config {path}: {given[dest]!r} and {dotted!r} both set {option}; keep one")
        given[dest] = dotted
        values[dest] = _parse_setting(value, actions[dest], f"--config {path}: {dotted!r} ({option})")
    return values


def settings_yaml(args: argparse.Namespace) -> str:
    """The settings ``args`` holds, as a YAML file that ``--config`` reads back (nested as the dataclasses)."""
    import yaml

    if args.settings_template is not None:  # the settings are checked as the command would check them
        with_values(args.settings_template, {dotted: getattr(args, d) for dotted, d in args.settings_names.items()})
    nested: dict[str, Any] = {}
    for dotted, dest in args.settings_names.items():
        value = getattr(args, dest)
        *heads, last = dotted.split(".")
        node = nested
        for head in heads:
            node = node.setdefault(head, {})
        node[last] = list(value) if isinstance(value, tuple) else value
    return yaml.safe_dump(nested, sort_keys=False)


def with_settings_files(parser: argparse.ArgumentParser, argv: Sequence[str] | None, args: argparse.Namespace):
    """``args`` parsed again with a preset's values (``--quick``: the command's ``preset``, dotted setting
    -> value), then its ``--config`` files', as defaults, so that every option given on the command line
    overrides them."""
    names = args.settings_names
    values: dict[str, Any] = (
        {names[k]: v for k, v in getattr(args, "preset", {}).items()} if getattr(args, "quick", False) else {}
    )
    for path in args.config or ():
        values.update(read_settings_file(path, args.settings_parser))
    args.settings_parser.set_defaults(**values)
    return parser.parse_args(argv)
