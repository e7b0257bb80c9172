"""Outreach: the drafts a trigger proposes to send, and the compliance review they pass first."""
