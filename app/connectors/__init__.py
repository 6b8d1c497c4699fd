"""Shipped connector mappings (YAML, one versioned file per platform format)."""
