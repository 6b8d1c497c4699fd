"""Workflows per domain: plain async functions taking a session; they flush, never commit."""
