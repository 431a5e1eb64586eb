"""Strawberry types and the assembled schema."""
