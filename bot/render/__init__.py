"""Output forms of a digest: one module per form (Markdown, JSON, chat messages)."""
