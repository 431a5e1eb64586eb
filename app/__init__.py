"""Wiring: settings, authentication, the ASGI app and the command line."""
