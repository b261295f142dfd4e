"""Hostile clients held beside a run's real load (slow, never reading, resetting, churning)."""
