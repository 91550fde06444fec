"""Explanations that make a verdict checkable: where (timeline, Grad-CAM), why (feature families), how sure
(out-of-distribution check) and what the container says. Built on ``fvc.predict``; never on training code."""

from .document import SCHEMA, explain_video

__all__ = ["SCHEMA", "explain_video"]
