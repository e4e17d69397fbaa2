"""docs/cli.md documents every command group and command, and names no command that does
not exist (issue 11, item 13)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from stormproof.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs"
CLI_DOC = (DOCS / "cli.md").read_text(encoding="utf-8")
# Documents that describe commands as they exist (design.md also lists planned ones).
USER_DOCS = [
    DOCS.parent / "README.md",
    *sorted(p for p in DOCS.rglob("*.md") if p.name != "design.md"),
]
INVOCATION = re.compile(
    r"(?<!from )(?<![\w.])stormproof(?: \[--store URL\]| --store \S+)?"
    r" ([a-z][a-z-]+)(?: ([a-z][a-z-]+))?"
)


def _commands() -> dict[str, set[str]]:
    """Group (or top-level command) -> its subcommands (empty for a plain command)."""
    return {
        name: set(cmd.commands) if isinstance(cmd, click.Group) else set()
        for name, cmd in main.commands.items()
    }


def test_every_group_and_command_is_documented() -> None:
    missing = []
    for group, subcommands in _commands().items():
        if f"## `{group}" not in CLI_DOC:
            missing.append(f"section for {group}")
        section = CLI_DOC.split(f"## `{group}", 1)[-1].split("\n## ", 1)[0]
        missing += [f"{group} {sub}" for sub in sorted(subcommands) if sub not in section]
    assert missing == []
    assert "--version" in CLI_DOC


def _code(text: str) -> list[str]:
    """The lines of fenced code blocks and the inline code spans of a Markdown text."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            found.append(line)
        else:
            found += re.findall(r"`([^`]+)`", line)
    return found


def _unknown(code: list[str]) -> list[str]:
    commands, wrong = _commands(), []
    for snippet in code:
        for group, sub in INVOCATION.findall(snippet):
            if group not in commands:
                wrong.append(f"stormproof {group}")
            elif commands[group] and sub and sub not in commands[group]:
                wrong.append(f"stormproof {group} {sub}")
    return wrong


def test_the_docs_name_only_commands_that_exist() -> None:
    wrong = {p.name: found for p in USER_DOCS if (found := _unknown(_code(p.read_text())))}
    assert wrong == {}


def test_the_checker_catches_a_command_that_does_not_exist() -> None:
    text = "Run `stormproof devv shop:app`, then\n```\nstormproof queues frobnicate q\n```\n"
    assert _unknown(_code(text)) == ["stormproof devv", "stormproof queues frobnicate"]
    assert _unknown(_code("stormproof has no account; `stormproof queues ls --all`")) == []
