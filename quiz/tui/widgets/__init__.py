"""Widgets used by the screens: one per module."""
