"""Polar policies and their enforcement."""
