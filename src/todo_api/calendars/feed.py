"""The calendar feed of due dates: one VEVENT per pending task that has a due date, among
the tasks the user sees (their own, and those of the lists shared with them).

Completed tasks are left out: a VEVENT has no "completed" status (RFC 5545 gives it only
TENTATIVE, CONFIRMED and CANCELLED), and a calendar of what is due is clearer without what is
done; a task completed leaves the feed at the calendar app's next refresh.
"""

from collections.abc import AsyncIterator, Iterable
from datetime import timedelta

from icalendar import Calendar, Event

from todo_api.core.database import Database
from todo_api.tasks import StatusFilter, TaskListQuery, TaskRead, TaskSort, list_tasks

PRODID = "-//todo-api//calendar feed//EN"
CALENDAR_NAME = "Tasks due"
# How often calendar apps that honour it should fetch the feed again.
REFRESH_INTERVAL = timedelta(hours=1)
# Most events a feed holds (soonest due first): calendar apps choke on huge feeds, and each
# fetch reads every one.
MAX_EVENTS = 5000
_PAGE = 1000


def uid(task_id: int) -> str:
    """A task's event UID: the same on every fetch, so calendar apps update it in place."""
    return f"task-{task_id}@todo-api"


async def due_tasks(db: Database, user_id: str) -> AsyncIterator[TaskRead]:
    """The pending tasks the user sees that have a due date, soonest first (MAX_EVENTS at
    most)."""
    query = TaskListQuery(sort=TaskSort.due_date, status=StatusFilter.pending, limit=_PAGE)
    sent = 0
    while True:
        page = await list_tasks(db, user_id, query)
        for row in page.tasks:
            if row["due_date"] is None or sent >= MAX_EVENTS:
                return  # undated tasks sort last
            sent += 1
            yield TaskRead.model_validate(row)
        if page.next_cursor is None:
            return
        query = query.model_copy(update={"cursor": page.next_cursor})


def event(task: TaskRead) -> Event:
    """A task as a VEVENT: an all-day event on its due day, or an instant at its due time."""
    vevent = Event()
    vevent.add("uid", uid(task.id))
    vevent.add("dtstamp", task.updated_at)
    vevent.add("last-modified", task.updated_at)
    vevent.add("summary", task.title)
    if task.description:
        vevent.add("description", task.description)
    if task.due_at is not None:
        # A deadline is an instant: the event ends where it starts.
        vevent.add("dtstart", task.due_at)
        vevent.add("dtend", task.due_at)
    else:
        assert task.due_date is not None
        vevent.add("dtstart", task.due_date)
        vevent.add("dtend", task.due_date + timedelta(days=1))  # DTEND is exclusive
    vevent.add("status", "CONFIRMED")
    vevent.add("transp", "TRANSPARENT")  # a task due does not make its user busy
    return vevent


def calendar(tasks: Iterable[TaskRead]) -> bytes:
    """The feed: a VCALENDAR of the tasks' events, as bytes (UTF-8, CRLF lines)."""
    vcalendar = Calendar()
    vcalendar.add("prodid", PRODID)
    vcalendar.add("version", "2.0")
    vcalendar.add("calscale", "GREGORIAN")
    vcalendar.add("method", "PUBLISH")
    vcalendar.add("x-wr-calname", CALENDAR_NAME)
    vcalendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    vcalendar.add("x-published-ttl", REFRESH_INTERVAL)
    for task in tasks:
        vcalendar.add_component(event(task))
    body: bytes = vcalendar.to_ical()
    return body


async def feed(db: Database, user_id: str) -> bytes:
    """The user's calendar feed of due dates."""
    return calendar([task async for task in due_tasks(db, user_id)])
