"""Load from wrk: the Lua scripts it runs, and its figures read from its output."""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass


@dataclass
class Result:
    """What wrk measured for one endpoint."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def median_of(results: list[Result]) -> Result:
    """Each figure's median over the rounds; errors are summed."""
    return Result(
        statistics.median(r.requests_per_second for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.errors for r in results),
    )


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package if it is missing."""
    if path := shutil.which("wrk"):
        return path
    print("installing wrk (apt-get install wrk)…", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


# --- load -------------------------------------------------------------------------------------

LUA_TEMPLATE = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
{extra_headers}
local body = '{body}'
local first, last = {first}, {last}
local counter = 0
local thread_index = 0
local threads = {{}}

function setup(thread)
    thread:set("offset", #threads)
    table.insert(threads, thread)
end

function init(args)
    counter = offset
end

function request()
    local path = "{path}"
    if first > 0 then
        -- every thread walks its own ids, so no id is used twice
        local id = first + counter
        counter = counter + {thread_count}
        if id > last then id = last end
        path = string.gsub(path, "ID", tostring(id))
    end
    return wrk.format(nil, path, nil, body)
end
"""


MANY_USERS_LUA = """
wrk.method = "POST"
local body = '{body}'
local users = {{{users}}}
local counter = 0

function request()
    counter = counter + 1
    local user = users[(counter % #users) + 1]
    local headers = {{
        ["Authorization"] = "Bearer " .. user[2],
        ["Content-Type"] = "application/json",
    }}
    return wrk.format(nil, "/api/" .. user[1] .. "/tasks", headers, body)
end
"""


def run_wrk_many_users(
    wrk: str, base: str, *, tokens: dict[str, str], body: str, duration: int, connections: int
) -> Result:
    """Creates spread over `tokens`' users in turn: a service's users write side by side."""
    users = ", ".join(f'{{"{user}", "{token}"}}' for user, token in tokens.items())
    script = MANY_USERS_LUA.format(body=body, users=users)
    return _wrk(wrk, script, base, threads=2, duration=duration, connections=connections)


def run_wrk(
    wrk: str,
    base: str,
    *,
    method: str,
    path: str,
    token: str,
    body: str = "",
    ids: tuple[int, int] = (0, 0),
    headers: dict[str, str] | None = None,
    duration: int,
    connections: int,
    threads: int = 2,
) -> Result:
    script = LUA_TEMPLATE.format(
        method=method,
        token=token,
        extra_headers="\n".join(
            f'wrk.headers["{name}"] = "{value}"' for name, value in (headers or {}).items()
        ),
        body=body,
        path=path,
        first=ids[0],
        last=ids[1],
        thread_count=threads,
    )
    url = base + path.replace("ID", str(ids[0] or 1))
    return _wrk(wrk, script, url, threads=threads, duration=duration, connections=connections)


def _wrk(
    wrk: str, script: str, url: str, *, threads: int, duration: int, connections: int
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    output = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            file.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(file.name)
    return parse_wrk(output)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> Result:
    if "Requests/sec" not in output or "Latency Distribution" not in output:
        sys.exit(f"unexpected wrk output:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    return Result(rps, p50, p99, errors)
