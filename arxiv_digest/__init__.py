"""The composition root: builds the running parts (settings → Redis → store → service → adapters → supervisor).

It sits above both `bot/` (the core) and `handlers/` (the chat adapters), so the core never imports an adapter:
main.py is the `arxiv-digest` entry point, app.py starts the adapters, the scheduler and the workers.
"""
