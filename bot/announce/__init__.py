"""Announcements: the minutes by email, the meeting and success events by webhook.

`compose` decides, purely, what goes to whom (the outbox rows); `sender` delivers them at
the edge, with retries across restarts.
"""
