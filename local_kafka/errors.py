"""The one exception the launcher raises for something the person running it can fix."""


class LauncherError(Exception):
    """Something the person running the launcher can fix; the message says what."""
