"""forewarn: a real-time trigger engine for proactive e-commerce support."""

from forewarn.core import __version__

__all__ = ["__version__"]
