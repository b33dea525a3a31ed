"""Domain layer: pure Python (stdlib only). Decisions are returned as data."""
