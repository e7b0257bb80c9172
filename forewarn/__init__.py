"""forewarn: a real-time trigger engine for proactive e-commerce support."""

__version__ = "0.1.0"
