"""The applications on top: command line, simulator, ground truth, scoring, what-if, record."""
