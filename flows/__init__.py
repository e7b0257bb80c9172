"""Bytewax wiring: sources, keying, the customer step, sinks. The only place Bytewax is imported."""
