"""Chat command handlers and the platform adapters that feed them."""
