"""Widgets the pages share; no page state."""
