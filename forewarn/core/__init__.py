"""Core types every layer shares: events, customer state, triggers, time and money. Imports nothing above it."""
