"""Where triggers, dead letters and metrics leave the engine. No Bytewax here."""
