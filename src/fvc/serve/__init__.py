"""``fvc serve``: the web page fact-checkers use, and its JSON API. Uses ``fvc.explain`` and ``fvc.predict``;
never reaches into training."""

from .app import LOOPBACK, ServeConfig, create_app

__all__ = ["LOOPBACK", "ServeConfig", "create_app"]
