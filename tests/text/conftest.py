"""Fixtures for the text tests that need a stream: the controls tests' room and crew."""

from tests.controls.conftest import crew, room  # noqa: F401  (fixtures re-exported)
