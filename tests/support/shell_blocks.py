"""The shell blocks of a Markdown page, run as a reader pastes them, and checked.

A page's ```sh blocks are what a reader pastes. A block that is `uv run todo-api` alone (after
settings such as `WEBHOOK_ALLOW_PRIVATE=true`) starts the service, in one terminal; all the
others run in order in one shell (another terminal), in the service's working directory. Under
a command, the `# …` comment lines right below it are the answer the page shows: the command
must print that (`…` stands for anything), and exit 0. A block whose first line is
`# not tested: <why>` is one a test cannot run (a Neon database, Docker, a desktop app): it is
left out, and must say why. A block with a file name (```python title="todo_mcp.py") is written
to that file before the shell blocks run, for them to use.

Only the port changes: `localhost:8000`, which pages write once, in `BASE=`, becomes a free port.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

NOT_TESTED = "# not tested: "
SERVER = re.compile(r"^(?:[A-Z_]+=\S+ )*uv run todo-api$")
_FENCE = re.compile(
    r'^```(?P<lang>[\w+-]*)(?:[ \t]+title="(?P<title>[^"]+)")?[ \t]*\n(?P<text>.*?)^```[ \t]*$',
    re.MULTILINE | re.DOTALL,
)
_MARK = "\x1e"  # printed with the exit status after each step
DEADLINE_SECONDS = 300
ROOT = Path(__file__).parent.parent.parent
# What a shell a person opens may hold that would change what the commands do.
_SERVICE_VARIABLES = {"DATABASE_URL", "BETTER_AUTH_SECRET", "ENVIRONMENT", "LOG_FORMAT", "PORT"}
TOOLS = ("uv", "curl", "jq")


def reader_env(database_url: str | None) -> dict[str, str]:
    """A reader's shell: `uv` finds this checkout while the commands run in an empty directory,
    and the service gets a port of its own. `database_url`: the database the service uses
    (PostgreSQL runs), else the SQLite file a page's service makes."""
    for tool in TOOLS:
        assert shutil.which(tool), f"the pages' commands need {tool} on PATH"
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
    env |= {"UV_PROJECT": str(ROOT), "PORT": str(free_port())}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


@dataclass(frozen=True)
class Block:
    """A fenced block: its language, its file name if it has one, and its text."""

    lang: str
    text: str
    title: str | None = None

    @property
    def commands(self) -> list[str]:
        """Its lines that are not comments or blank."""
        return [line for line in self.text.splitlines() if line.strip() and line[0] != "#"]

    @property
    def is_shell(self) -> bool:
        return self.lang in {"sh", "bash", "shell"}

    @property
    def not_tested(self) -> str | None:
        """Why a test cannot run it, if its first line says so."""
        first = self.text.splitlines()[0] if self.text else ""
        return first.removeprefix(NOT_TESTED).strip() if first.startswith(NOT_TESTED) else None

    @property
    def starts_the_service(self) -> bool:
        commands = [line.split(" #")[0].strip() for line in self.commands]
        return len(commands) == 1 and SERVER.match(commands[0]) is not None


@dataclass
class Step:
    """Commands run together, and the answer the page shows for them (None: not shown)."""

    commands: str
    shown: str | None


@dataclass
class Ran:
    """A step as it ran: its exit status and what it printed (stdout and stderr, as a
    terminal shows them)."""

    step: Step
    status: str
    output: str


def blocks(text: str) -> list[Block]:
    """The page's fenced blocks, in order."""
    return [Block(match["lang"], match["text"], match["title"]) for match in _FENCE.finditer(text)]


def runnable(page: list[Block]) -> list[Block]:
    """The shell blocks a test runs (the service's included)."""
    return [block for block in page if block.is_shell and block.not_tested is None]


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
    """Whether `output` is the answer shown. An answer's comment lines are joined without line
    breaks (a long JSON answer is cut anywhere), so the output is compared without its own."""
    pattern = ".*?".join(re.escape(part) for part in shown.split("…"))
    return re.fullmatch(pattern, re.sub(r"\r?\n", "", output.strip()), re.DOTALL) is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def service(block: Block, cwd: Path, env: dict[str, str]) -> Iterator[Path]:
    """The service block running in `cwd` (its own process group, as a terminal's foreground
    job), until it answers; its log. Stopped with Ctrl-C (SIGINT to the group) afterwards."""
    log = cwd / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            ["bash", "-c", block.text],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{env['PORT']}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the service stopped:\n" + log.read_text()
            assert time.monotonic() < deadline, "the service did not start:\n" + log.read_text()
            time.sleep(0.2)
        yield log
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)


def run_page(page: list[Block], cwd: Path, env: dict[str, str]) -> tuple[list[Ran], str]:
    """Every runnable block of the page, as a reader runs them; each step as it ran, and the
    service's log ("" without a service)."""
    here = {"localhost:8000": f"localhost:{env['PORT']}"}

    def local(text: str) -> str:
        for old, new in here.items():
            text = text.replace(old, new)
        return text

    for block in page:
        if block.title is not None:
            (cwd / block.title).write_text(local(block.text))
    shell_blocks = runnable(page)
    servers = [block for block in shell_blocks if block.starts_the_service]
    walk = [
        step
        for block in shell_blocks
        if not block.starts_the_service
        for step in steps(local(block.text))
    ]
    script = "".join(f"{step.commands}\nprintf '\\n{_MARK}%s\\n' $?\n" for step in walk)
    with _maybe_service(servers, cwd, env) as log:
        output = _run_script(script, cwd, env, log)
    server_log = log.read_text() if log else ""
    parts = output.split(_MARK)
    assert len(parts) == len(walk) + 1, output + server_log
    ran = []
    for index, step in enumerate(walk):
        printed = parts[index].split("\n", 1)[1] if index else parts[0]
        # The newline printed before each mark is the test's, not the step's.
        ran.append(Ran(step, parts[index + 1].split("\n", 1)[0], printed.removesuffix("\n")))
    return ran, server_log


@contextmanager
def _maybe_service(servers: list[Block], cwd: Path, env: dict[str, str]) -> Iterator[Path | None]:
    assert len(servers) <= 1, "a page starts the service once"
    if not servers:
        yield None
        return
    with service(servers[0], cwd, env) as log:
        yield log


def _run_script(script: str, cwd: Path, env: dict[str, str], log: Path | None) -> str:
    shell = subprocess.Popen(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = shell.communicate(timeout=DEADLINE_SECONDS)
    except subprocess.TimeoutExpired:
        shell.kill()
        output, _ = shell.communicate()
        raise AssertionError(
            f"the page's commands did not end:\n{output}\n{log.read_text() if log else ''}"
        ) from None
    return output


def check(ran: list[Ran], server_log: str) -> None:
    """Each step exited 0, printed what the page shows, and ended its output with a newline
    (else a terminal's prompt would follow the answer on its line)."""
    for result in ran:
        context = f"\n$ {result.step.commands}\n{result.output}\n--- service log:\n{server_log}"
        assert result.status == "0", "a step failed:" + context
        if result.step.shown is not None:
            assert matches(result.step.shown, result.output), (
                f"the page shows {result.step.shown}" + context
            )
        assert not result.output or result.output.endswith("\n"), (
            "the output does not end with a newline (curl -w '\\n'):" + context
        )
