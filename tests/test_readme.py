"""The README's curl walkthrough, run as a newcomer runs it: its own shell blocks, verbatim.

"Try it with curl" is parsed from README.md: its first block starts the service (in one
terminal), the others run in one shell (another terminal) in a fresh, empty directory, and every
answer the README shows in a `# …` comment under a command must be what the command printed
(`…` stands for anything). Only the port is changed, so that test runs never collide.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
SECTION = "## Try it with curl"
# What a shell a person opens may hold that would change what the commands do.
_SERVICE_VARIABLES = {"DATABASE_URL", "BETTER_AUTH_SECRET", "ENVIRONMENT", "LOG_FORMAT", "PORT"}
_MARK = "\x1e"  # printed with the exit status after each step


@dataclass
class Step:
    """Commands run together, and the answer the README shows for them (None: not shown)."""

    commands: str
    shown: str | None


def walkthrough_blocks() -> list[str]:
    """The sh blocks of the walkthrough section (its subsections included)."""
    text = README.read_text()
    start = text.index(SECTION + "\n")
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end >= 0 else None]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


def steps(block: str) -> list[Step]:
    """Commands up to an answer comment (or a blank line) make a step; the comment lines right
    under them, joined, are the answer."""
    result: list[Step] = []
    commands: list[str] = []
    shown: list[str] = []
    for line in [*block.splitlines(), ""]:
        if line.startswith("#"):
            shown.append(line[1:].strip())
            continue
        if shown or (not line.strip() and commands):
            result.append(Step("\n".join(commands), "".join(shown) or None))
            commands, shown = [], []
        if line.strip():
            commands.append(line)
    return [step for step in result if step.commands]


def matches(shown: str, output: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in shown.split("…"))
    return re.fullmatch(pattern, output.strip(), re.DOTALL) is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def shell_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """A newcomer's shell: `uv` finds this checkout while the commands run in an empty
    directory. On the PostgreSQL run, DATABASE_URL names the test database."""
    for tool in ("uv", "curl", "python3"):
        assert shutil.which(tool), f"the walkthrough needs {tool} on PATH"
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
    env |= {"UV_PROJECT": str(ROOT), "PORT": str(_free_port())}
    if TEST_DATABASE_URL is not None:
        env["DATABASE_URL"] = database_url
    return env


def test_the_walkthrough_has_a_server_block_and_answers_to_check() -> None:
    server, *others = walkthrough_blocks()
    assert server.split("#")[0].strip() == "uv run todo-api"
    shown = [step for block in others for step in steps(block) if step.shown]
    assert len(shown) >= 10
    # Every request the reader pastes shows its answer.
    for step in steps("\n".join(others)):
        if "curl -s" in step.commands.splitlines()[-1] and "$(" not in step.commands:
            assert step.shown is not None, step.commands


def test_the_readme_walkthrough_runs_and_answers_as_shown(
    tmp_path: Path, shell_env: dict[str, str]
) -> None:
    server_block, *blocks = walkthrough_blocks()
    port = shell_env["PORT"]

    def here(text: str) -> str:
        return text.replace("localhost:8000", f"localhost:{port}")

    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        ["bash", "-c", server_block],
        cwd=tmp_path,
        env=shell_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        walk = [step for block in blocks for step in steps(here(block))]
        script = "".join(f"{step.commands}\nprintf '{_MARK}%s\\n' $?\n" for step in walk)
        shell = subprocess.Popen(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=shell_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while True:
            try:
                stdout, stderr = shell.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired:
                # The README's wait loop waits for ever: not for a server that is gone.
                if server.poll() is not None or time.monotonic() > deadline:
                    shell.kill()
                    log.flush()
                    pytest.fail("the server stopped:\n" + (tmp_path / "server.log").read_text())
    finally:
        # Ctrl-C, as the README says: SIGINT to the whole foreground job.
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)
        log.close()
    server_log = (tmp_path / "server.log").read_text()
    parts = stdout.split(_MARK)
    assert len(parts) == len(walk) + 1, stdout + stderr
    for index, step in enumerate(walk):
        output = parts[index].split("\n", 1)[1] if index else parts[0]
        status = parts[index + 1].split("\n", 1)[0]
        context = f"\n$ {step.commands}\n{output}\n{stderr}\n{server_log}"
        assert status == "0", context
        if step.shown is not None:
            assert matches(step.shown, output), f"README shows {step.shown}" + context
    assert "Application shutdown complete" in server_log
    assert (tmp_path / ".todo-api-secret").exists()
    if TEST_DATABASE_URL is None:
        assert (tmp_path / "todo.db").exists()
