"""The background job loop (todo_api.core.jobs.Job), without a database."""

import asyncio

import pytest

from todo_api.core.errors import DatabaseUnavailable
from todo_api.core.jobs import Job


class Rounds(Job):
    """A job that counts its rounds; `outcomes` says what each round does."""

    name = "Test job"

    def __init__(self, *outcomes: float | Exception) -> None:
        super().__init__(poll_seconds=60)
        self.outcomes = list(outcomes)
        self.rounds = 0

    async def round(self) -> float:
        self.rounds += 1
        outcome = self.outcomes.pop(0) if self.outcomes else 60.0
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _woken(job: Job) -> None:
    job.wake()
    await asyncio.sleep(job.wake_window_seconds)
    await _settle()


def test_a_job_cancelled_as_it_is_woken_stops() -> None:
    async def scenario() -> None:
        job = Rounds()
        running = asyncio.create_task(job.run())
        await _settle()
        job.wake()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(running, 2)

    asyncio.run(scenario())


def test_wake_runs_a_round_before_the_poll() -> None:
    async def scenario() -> None:
        job = Rounds()
        running = asyncio.create_task(job.run())
        await _settle()
        await _woken(job)
        running.cancel()
        assert job.rounds == 2

    asyncio.run(scenario())


def test_a_round_that_returns_zero_is_followed_by_another_at_once() -> None:
    async def scenario() -> None:
        job = Rounds(0, 0, 60)
        running = asyncio.create_task(job.run())
        await _settle()
        running.cancel()
        assert job.rounds == 3

    asyncio.run(scenario())


def test_a_database_outage_pauses_the_job_until_the_next_poll(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        job = Rounds(DatabaseUnavailable("connection refused"), RuntimeError("bug"))
        running = asyncio.create_task(job.run())
        await _settle()
        assert job.rounds == 1
        assert "Test job paused, database unavailable: connection refused" in caplog.text
        await _woken(job)
        running.cancel()
        assert job.rounds == 2
        assert "Test job: round failed" in caplog.text

    asyncio.run(scenario())


def test_wakes_within_the_window_share_one_round() -> None:
    async def scenario() -> None:
        job = Rounds()
        running = asyncio.create_task(job.run())
        await _settle()
        for _ in range(10):
            job.wake()
            await asyncio.sleep(job.wake_window_seconds / 20)
        await _woken(job)
        running.cancel()
        assert job.rounds <= 4  # the first, and a few windows' worth: not one per wake

    asyncio.run(scenario())
