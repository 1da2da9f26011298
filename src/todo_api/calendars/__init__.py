"""Calendars: the user's tasks for calendar apps. CalDAV (RFC 4791) serves each list, and the
Inbox, as a calendar of VTODOs that Apple Reminders, Thunderbird, DAVx5 and todoman sync.

This module is the domain's public face: other domains import what they need from here.
"""

from todo_api.calendars.dav.models import CalendarObject
from todo_api.calendars.dav.routes import routes as caldav_routes

__all__ = [
    "CalendarObject",
    "caldav_routes",
]
