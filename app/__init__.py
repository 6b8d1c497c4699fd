"""Live Control Room (直播中控台)."""

__version__ = "0.1.0"
