"""Inbound connectors (issue 18): platform webhooks verified and mapped to our events."""
