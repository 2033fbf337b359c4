"""Command-line options derived from settings dataclasses, and the error handling both CLIs share.

Every field made with :func:`mobius_init.settings.setting` becomes ``--field-name`` with its help
text and its default shown; nested dataclasses (a config composed of others) are flattened into
argument groups. :func:`config_from_args` rebuilds the dataclass from the parsed arguments, so the
defaults are written once, in the dataclass; :mod:`mobius_init.config_files` reads the same options
from YAML files (``--config``) and writes them as one (``--print-config``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .config_files import SettingsFileError, add_settings_file_options, settings_yaml, with_settings_files
from .settings import InvalidSetting, with_values


def flag(name: str) -> str:
    """The command-line flag of a field name: ``vocab_size`` -> ``--vocab-size``."""
    return "--" + name.replace("_", "-")


def _parser_for(annotation: Any) -> tuple[Callable[[str], Any], bool]:
    """``(type function, optional)`` for a field's type annotation."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional, annotation = True, args[0]
    if typing.get_origin(annotation) is tuple:
        return list_of(typing.get_args(annotation)[0]), optional
    return annotation, optional


def positive_int(text: str) -> int:
    """An integer > 0 (ValueError otherwise)."""
    value = int(text)
    if value <= 0:
        raise ValueError(f"{text} is not positive")
    return value


_KINDS = {int: "integers", float: "numbers", str: "names", positive_int: "positive integers"}


def list_of(item: Callable[[str], Any]) -> Callable[[str], tuple[Any, ...]]:
    """A parser of comma-separated values (``100,200,400``) whose error names the form expected."""
    kind = _KINDS.get(item, "values")

    def parse_list(text: str) -> tuple[Any, ...]:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind}, got an empty value")
        try:
            return tuple(item(part) for part in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind}, got {text!r}") from None

    return parse_list


def _none_or(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_optional(text: str) -> Any:
        return None if text.lower() == "none" else parse(text)

    parse_optional.__name__ = getattr(parse, "__name__", "value")
    return parse_optional


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _help(text: str, default: Any) -> str:
    """The help text with its default, unless the text already says what the default is (``default: ...``)."""
    text = text.strip()
    return text if re.search(r"\bdefault:", text) else f"{text} (default: {_show(default)})".strip()


def _cli_fields(
    config: Any, exclude: Iterable[str], path: str = ""
) -> Iterable[tuple[str, dataclasses.Field, Any, Any]]:
    """``(dotted path, field, owner instance, type hint)`` of every command-line field, depth first."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        dotted = f"{path}{f.name}"
        value = getattr(config, f.name)
        if dotted in exclude or not f.metadata.get("cli", True):
            continue
        if dataclasses.is_dataclass(value):
            yield from _cli_fields(value, exclude, dotted + ".")
        else:
            yield dotted, f, config, hints[f.name]


def add_config_options(
    parser: argparse.ArgumentParser,
    config: Any,
    *,
    exclude: Iterable[str] = (),
    helps: dict[str, str] | None = None,
) -> None:
    """Add ``--name`` for every field of ``config`` (a dataclass instance, whose values are the defaults
    shown) and of the dataclasses it holds, skipping the dotted names in ``exclude``; ``helps`` replaces
    the help text of fields (by dotted name) whose meaning this command narrows."""
    exclude, helps = set(exclude), helps or {}
    groups: dict[str, argparse._ArgumentGroup] = {}
    seen: set[str] = set()
    flags: dict[str, str] = {}
    for dotted, f, owner, hint in _cli_fields(config, exclude):
        if f.name in seen:
            raise ValueError(f"two settings are both called {f.name!r}; exclude one ({dotted})")
        seen.add(f.name)
        section = type(owner).__doc__.strip().splitlines()[0].rstrip(".") if "." in dotted else None
        target = parser if section is None else groups.setdefault(section, parser.add_argument_group(section))
        default = getattr(owner, f.name)
        kwargs: dict[str, Any] = {
            "dest": f.name,
            "default": default,
            "help": _help(helps.get(dotted, f.metadata.get("help", "")), default),
        }
        if hint is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            parse, optional = _parser_for(hint)
            none_is_a_choice = "none" in (f.metadata.get("choices") or ())  # then 'none' is that choice, typed
            kwargs["type"] = _none_or(parse) if optional and not none_is_a_choice else parse
            kwargs["metavar"] = f.name.upper() if not f.metadata.get("choices") else None
            if f.metadata.get("choices"):
                kwargs["choices"] = (*f.metadata["choices"], *((None,) if optional else ()))
                kwargs["metavar"] = "{" + ",".join(map(str, f.metadata["choices"])) + "}"
        option = flag(f.metadata.get("flag") or f.name)
        target.add_argument(option, **kwargs)
        flags[f.name] = option
    parser.set_defaults(option_flags=flags)
    add_settings_file_options(parser, config, {dotted: f.name for dotted, f, _, _ in _cli_fields(config, exclude)})


def add_signature_options(
    parser: argparse.ArgumentParser,
    function: Callable[..., Any],
    helps: dict[str, str],
    *,
    choices: dict[str, Sequence[Any]] | None = None,
    parse: dict[str, Callable[[str], Any]] | None = None,
    exclude: Iterable[str] = (),
) -> list[str]:
    """Add ``--name`` for every keyword parameter of ``function`` (an estimator's ``__init__``): its
    default is the one in the signature, shown in the help. Returns the parameter names."""
    import inspect

    choices, parse, exclude = choices or {}, parse or {}, set(exclude)
    hints = typing.get_type_hints(function)
    names = []
    for name, param in inspect.signature(function).parameters.items():
        if name in ("self", *exclude) or param.default is inspect.Parameter.empty:
            continue
        kwargs: dict[str, Any] = {
            "dest": name,
            "default": param.default,
            "help": _help(helps.get(name, ""), param.default),
        }
        if hints.get(name) is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            function_type, optional = _parser_for(hints.get(name, str))
            function_type = parse.get(name, function_type)
            kwargs["type"] = _none_or(function_type) if optional else function_type
            if name in choices:
                kwargs["choices"] = choices[name]
                kwargs["metavar"] = "{" + ",".join(_show(c) for c in choices[name]) + "}"
        parser.add_argument(flag(name), **kwargs)
        names.append(name)
    parser.set_defaults(option_flags={n: flag(n) for n in names})
    add_settings_file_options(parser, None, {n: n for n in names})
    return names


def config_from_args(config: Any, args: argparse.Namespace, *, exclude: Iterable[str] = ()) -> Any:
    """A copy of ``config`` with every command-line field set from ``args`` (nested configs too)."""
    values = {dotted: getattr(args, f.name) for dotted, f, _, _ in _cli_fields(config, set(exclude))}
    return with_values(config, values)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written; option help is wrapped as usual."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``prog: error: ...``), not the whole usage."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def output_file(path: str | Path, option: str = "--output") -> Path:
    """Check, before any work, that a file can be written at ``path``: its folder exists and is writable,
    and it is not a directory. Returns the path."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a directory; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{option} {str(path)!r}: the folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {str(path)!r}: the folder {str(folder)!r} is not writable")
    return path


def output_directory(path: str | Path, option: str = "--output") -> Path:
    """Check, before any work, that ``path`` can be (or is) a writable directory; it is created later."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a file; give a directory (it is created if missing)")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not os.access(existing, os.W_OK):
        raise ValueError(f"{option} {str(path)!r}: {str(existing)!r} is not writable")
    return path


def with_flags(message: str, flags: dict[str, str]) -> str:
    """``message`` with the Python names of settings replaced by the flags a command-line user typed
    (``vocab_size`` -> ``--vocab-size``; one-word names, which are also ordinary words, only where written
    ``name=`` or where the message starts with them)."""
    for name, option in sorted(flags.items(), key=lambda item: -len(item[0])):
        if "_" in name:
            pattern = rf"(?<![\w-]){re.escape(name)}(?=[=\W]|$)"
        else:
            pattern = rf"(?<![\w-]){re.escape(name)}(?==)|^{re.escape(name)}(?= )"
        message = re.sub(pattern, option, message)
    return message


def register_flags(parser: argparse.ArgumentParser) -> None:
    """Record, for this parser and every sub-command, each option's destination -> its long flag, so
    errors can name the flags (see :func:`run_command`)."""
    flags = {a.dest: max(a.option_strings, key=len) for a in parser._actions if a.option_strings}
    parser.set_defaults(option_flags={**flags, **(parser.get_default("option_flags") or {})})
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                register_flags(sub)


def run_command(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse, run ``args.func(args)``, and turn a bad-input error into one line on stderr and exit
    status 2; errors name the flags the user typed, not Python parameters."""
    register_flags(parser)
    args = parser.parse_args(argv)
    flags = getattr(args, "option_flags", {})
    try:
        if getattr(args, "config", None) or getattr(args, "quick", False):
            args = with_settings_files(parser, argv, args)
        if getattr(args, "print_config", False):
            print(settings_yaml(args), end="")
            return 0
        args.func(args)
    except KeyboardInterrupt as exc:  # Ctrl-C: one line, not a traceback
        where = str(exc) or "interrupted"
        hint = "; rerun the same command with --resume to continue" if hasattr(args, "resume") else ""
        print(f"{parser.prog} {args.command}: {where}{hint}", file=sys.stderr)
        return 130
    except SettingsFileError as exc:  # names the file's keys: not rewritten into flags
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except InvalidSetting as exc:
        print(
            f"{parser.prog} {args.command}: error: {flags.get(exc.field, flag(exc.field))} "
            f"{with_flags(exc.problem, flags)}",
            file=sys.stderr,
        )
        return 2
    except (ValueError, TypeError, KeyError, OSError, ImportError) as exc:
        message = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
        print(f"{parser.prog} {args.command}: error: {with_flags(message, flags)}", file=sys.stderr)
        return 2
    return 0
