# syntax=docker/dockerfile:1
# The todo-api image: `docker build -t todo-api . && docker run -p 7860:7860 todo-api`.
# Hugging Face Spaces (Docker SDK) builds this file as is; other hosts set $PORT themselves.
FROM python:3.11-slim

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv

# Spaces runs containers as uid 1000; so does everybody else here.
RUN useradd --create-home --uid 1000 app
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never

# Dependencies first, so this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock .python-version README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY src ./src
RUN uv sync --locked --no-dev

# The working directory holds the default SQLite file and development secret: give it to the
# user (data there lasts as long as the container; set DATABASE_URL for anything real).
RUN mkdir /data && chown app:app /data
WORKDIR /data
USER app

# HOST/PORT/WEB_CONCURRENCY are read by `todo-api serve`. Platforms set PORT; 7860 is Spaces'.
# X-Forwarded-For is trusted only from the proxies FORWARDED_ALLOW_IPS names (loopback unless
# set): set it to the platform's proxy network at deploy time (docs/deployment.md), never to "*",
# which lets any client choose the address it is rate-limited and logged as.
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=7860
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=4)"]
# Exec form: the server is PID 1 and gets SIGTERM itself, so in-flight requests finish.
CMD ["todo-api", "serve"]
