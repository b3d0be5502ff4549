"""`newsmon --help` and every command's and action's help list exactly what exists, and starting is cheap."""

from __future__ import annotations

import argparse
import json
import pkgutil
import re
import subprocess
import sys

import pytest

from newsmon.app import commands
from newsmon.app.cli import COMMANDS, build_parser, main

COMMAND_MODULES = sorted(info.name for info in pkgutil.iter_modules(commands.__path__))
_LISTED = re.compile(r"^ {4}(\S+)(?:\s|$)", re.MULTILINE)  # how argparse lists subcommands under their metavar
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_INVOCATION = re.compile(r"`newsmon ((?:[a-z]+ ?){1,2})")  # a command a help text tells the user to run


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0, argv
    return capsys.readouterr().out


def listed(help_text: str) -> list[str]:
    """The subcommands or actions a help page lists (the indented names under `positional arguments:`)."""
    return _LISTED.findall(help_text.split("positional arguments:", 1)[-1].split("options:", 1)[0])


def actions_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's sub-parsers by name ({} for a command without actions), as argparse will dispatch them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_parser(name: str) -> argparse.ArgumentParser:
    return actions_of(build_parser([name]))[name]


def test_the_top_level_help_lists_every_command_module_and_nothing_else(capsys):
    assert listed(help_of([], capsys)) == [c.name for c in COMMANDS]
    assert sorted(c.name for c in COMMANDS) == [m for m in COMMAND_MODULES], \
        "every module in newsmon/app/commands is a command with a row in newsmon.app.cli.COMMANDS"
    assert all(c.module == f"newsmon.app.commands.{c.name}" for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_command_help_lists_exactly_its_actions_and_each_action_has_help(command, capsys):
    page = help_of([command.name], capsys)
    assert page.startswith(f"usage: newsmon {command.name} ")
    actions = list(actions_of(command_parser(command.name)))
    assert listed(page) == actions
    if actions:
        # The one-line help on `newsmon --help` names the actions; it must name these, in this order.
        assert command.help.rsplit(": ", 1)[-1].split(", ") == actions, command.help
        # A description that names actions in brackets, "Inspect one feed (parse), …", names real ones.
        assert set(re.findall(r"\(([a-z]+)\)", command_parser(command.name).description or "")) <= set(actions)
    for action in actions:
        assert help_of([command.name, action], capsys).startswith(f"usage: newsmon {command.name} {action} ")


def _texts(parser: argparse.ArgumentParser) -> list[str]:
    """The description and every argument's and action's help of one parser."""
    texts = [parser.description or ""]
    for action in parser._actions:
        texts.append(action.help or "")
        if isinstance(action, argparse._SubParsersAction):
            texts += [choice.help or "" for choice in action._choices_actions]
    return texts


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def _every_parser() -> list[tuple[str, argparse.ArgumentParser, set[str]]]:
    """(path, parser, the flags its texts may name): a command's texts may name the flags of its actions too."""
    found = []
    for command in COMMANDS:
        parser = command_parser(command.name)
        actions = actions_of(parser)
        found.append((command.name, parser, _flags(parser).union(*(_flags(a) for a in actions.values()))))
        found += [(f"{command.name} {name}", action, _flags(action)) for name, action in actions.items()]
    return found


@pytest.mark.parametrize(("path", "parser", "flags"), _every_parser(), ids=lambda v: v if isinstance(v, str) else "")
def test_help_texts_name_only_options_and_commands_that_exist(path, parser, flags):
    names = {c.name: set(actions_of(command_parser(c.name))) for c in COMMANDS}
    for text in _texts(parser):
        for flag in _FLAG.findall(text):
            assert flag in flags, f"`newsmon {path}` help names {flag}, which it does not have: {text!r}"
        for words in _INVOCATION.findall(text):
            command, *rest = words.split()
            assert command in names, f"`newsmon {path}` help names `newsmon {words.strip()}`: no such command"
            if rest and names[command]:
                assert rest[0] in names[command], f"`newsmon {path}` help names `newsmon {words.strip()}`: no such action"


def _modules_loaded_by(argv: list[str]) -> set[str]:
    script = ("import json, sys\nfrom newsmon.app.cli import main\n"
              "try:\n    main(json.loads(sys.argv[1]))\nexcept SystemExit:\n    pass\n"
              "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(argv)], capture_output=True, text=True,
                          timeout=120, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_top_level_help_imports_no_command_and_none_of_their_libraries():
    loaded = _modules_loaded_by(["--help"])
    heavy = {"sqlalchemy", "httpx", "rich", "trafilatura", "numpy", "luqum", "yaml", "newsmon.store", "newsmon.alerts",
             "newsmon.ingest", "newsmon.enrich"}
    assert not {m for m in loaded if m.startswith("newsmon.app.commands.") or m.split(".")[0] in heavy
                or ".".join(m.split(".")[:2]) in heavy}


def test_a_command_imports_its_own_module_and_no_other_command():
    loaded = _modules_loaded_by(["tag", "--help"])
    assert {m for m in loaded if m.startswith("newsmon.app.commands.")} == {"newsmon.app.commands.tag"}
