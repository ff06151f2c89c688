"""arxiv-digest: a daily arXiv digest with Chinese translations, for Telegram, Discord and the terminal."""
