"""Calendars: the user's tasks as calendar apps read them (a feed of due dates to subscribe
to, by URL).

This module is the domain's public face: other domains import what they need from here.
"""
