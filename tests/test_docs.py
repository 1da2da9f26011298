"""The pages of docs/ run as a reader pastes them (see tests/support/shell_blocks.py): each page
against a service of its own on a fresh database, every answer it shows checked. And every
shell block of the README and docs/ either runs here or says why it cannot."""

import re
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.support.shell_blocks import (
    ROOT,
    Block,
    blocks,
    check,
    reader_env,
    run_page,
    runnable,
)

DOCS = ROOT / "docs"
PAGES = sorted(path for path in DOCS.rglob("*.md"))
# Shown in the site as they are, and not run: their commands are the suite and the benchmark.
SHOWN_ONLY = [ROOT / "CONTRIBUTING.md", ROOT / "bench" / "README.md"]
READ = [ROOT / "README.md", *SHOWN_ONLY, *PAGES]


def _blocks(path: Path) -> list[Block]:
    page = blocks(path.read_text())
    # The README's first block is its two commands (tests/test_readme.py checks them).
    return page[1:] if path == ROOT / "README.md" else page


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _with_commands(path: Path) -> bool:
    return any(not block.starts_the_service for block in runnable(_blocks(path)))


@pytest.mark.parametrize("page", [page for page in PAGES if _with_commands(page)], ids=_name)
def test_the_page_runs_and_answers_as_shown(page: Path, tmp_path: Path, database_url: str) -> None:
    here = tmp_path / "reader"  # empty: on SQLite, a page's service makes its todo.db there
    here.mkdir()
    env = reader_env(database_url if TEST_DATABASE_URL is not None else None)
    ran, server_log = run_page(_blocks(page), here, env)
    assert ran, "the page has commands to run"
    check(ran, server_log)


@pytest.mark.parametrize("page", READ, ids=_name)
def test_every_shell_block_runs_or_says_why_not(page: Path) -> None:
    shell = [block for block in _blocks(page) if block.is_shell]
    for block in shell:
        if block.text.startswith("# not tested"):
            assert block.not_tested, f"a block left out must say why:\n{block.text}"
    if page in SHOWN_ONLY or (page in PAGES and not _with_commands(page)):
        # Nothing runs this page's blocks: each says why.
        assert all(block.not_tested for block in shell), _name(page)


@pytest.mark.parametrize("page", READ, ids=_name)
def test_commands_reach_the_service_through_base(page: Path) -> None:
    for block in runnable(_blocks(page)):
        for line in block.commands:  # an answer may show the service's URL
            if re.search(r"(localhost|127\.0\.0\.1):8000", line):
                assert re.match(r"(export )?BASE=", line), line


@pytest.mark.parametrize("page", READ, ids=_name)
def test_commands_take_ids_from_answers(page: Path) -> None:
    for block in runnable(_blocks(page)):
        for line in block.commands:
            assert not re.search(r"/(tasks|webhooks)/\d", line), line


@pytest.mark.parametrize("page", READ, ids=_name)
def test_a_page_that_runs_commands_starts_the_service_first_or_needs_none(page: Path) -> None:
    shell = runnable(_blocks(page))
    services = [index for index, block in enumerate(shell) if block.starts_the_service]
    assert services in ([], [0]), "one service, started before the commands that use it"
