"""Per-chat relevance ranking: hashed terms, a compact learned profile, and one line saying why (pure, no I/O)."""
