"""README.md as a newcomer meets it: short, the two commands on top with what running the tests
costs, and its walkthroughs run as they are written (see tests/support/shell_blocks.py), in a
fresh, empty directory, against a real `uv run todo-api` on a fresh database."""

import re
from pathlib import Path

from tests.conftest import TEST_DATABASE_URL
from tests.support.shell_blocks import ROOT, Block, blocks, check, reader_env, run_page, steps

README = ROOT / "README.md"
MOST_LINES = 250


def _readme() -> list[Block]:
    return blocks(README.read_text())


def _commands(block: Block) -> list[str]:
    return [line.split("#")[0].strip() for line in block.commands]


def test_the_readme_is_short() -> None:
    assert len(README.read_text().splitlines()) <= MOST_LINES


def test_the_readme_opens_with_the_two_commands_ci_runs() -> None:
    first = _readme()[0]
    assert _commands(first) == ["uv run todo-api", "uv run pytest"]
    # The first is the walkthrough's service, below; the second is CI's own test run.
    assert any(block.starts_the_service for block in _readme()[1:])
    assert "\nuv run pytest\n" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_says_how_long_the_tests_take_and_how_to_run_a_few() -> None:
    top = README.read_text().split("\n## ")[0]
    assert re.search(r"about \d+–\d+ minutes", top)
    subsets = re.findall(r"`uv run pytest (tests/[\w/.]+)`", top)
    assert subsets
    for path in subsets:
        assert (ROOT / path).exists(), path


def test_the_walkthrough_shows_the_answers_of_its_requests() -> None:
    walkthrough = [block for block in _readme()[1:] if not block.starts_the_service]
    walk = [step for block in walkthrough for step in steps(block.text)]
    assert len([step for step in walk if step.shown]) >= 10
    for step in walk:
        last = step.commands.splitlines()[-1]
        if "curl -s" in step.commands and "$(" not in step.commands and "-o" not in last:
            assert step.shown is not None, step.commands


def test_the_readme_walkthroughs_run_and_answer_as_shown(tmp_path: Path, database_url: str) -> None:
    here = tmp_path / "newcomer"  # empty: on SQLite, the service makes its todo.db there
    here.mkdir()
    env = reader_env(database_url if TEST_DATABASE_URL is not None else None)
    ran, server_log = run_page(_readme()[1:], here, env)
    check(ran, server_log)
    assert "Application shutdown complete" in server_log
    assert (here / ".todo-api-secret").exists()
    if TEST_DATABASE_URL is None:
        assert (here / "todo.db").exists()
