"""Greeting helpers shared through the SharedLayer (importable as ``greetings``).

Lambda puts a layer's ``python/`` directory on ``sys.path`` (it lands at
``/opt/python``), so functions that list the layer can ``import greetings``.
"""

DEFAULT_NAME = "world"


def greet(greeting: str, name: str | None = None) -> str:
    """Return e.g. ``"Hello, World!"``; a missing or blank name greets the world."""
    who = (name or "").strip() or DEFAULT_NAME
    return f"{greeting}, {who}!"
