"""Calendars: the user's tasks as calendar apps read them. CalDAV (RFC 4791) serves each list,
and the Inbox, as a calendar of VTODOs that Apple Reminders, Thunderbird, DAVx5 and todoman
sync (`dav/`); a feed of due dates is there to subscribe to by URL (`feed.py`).

This module is the domain's public face: other domains import what they need from here.
"""

from todo_api.calendars.dav.models import CalendarObject
from todo_api.calendars.dav.routes import routes as caldav_routes

__all__ = [
    "CalendarObject",
    "caldav_routes",
]
