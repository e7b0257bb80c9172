"""The engine: event-time processing of customer shards, config, routing, cooldown, live config, watermarks.

Above the detectors and models it runs; below the apps. Imports no Bytewax (that is ``flows/``).
"""
