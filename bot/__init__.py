"""Gavel: an IRC bot that records meetings live and publishes MeetBot-compatible minutes."""

__version__ = "1.0.0"
