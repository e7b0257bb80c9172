"""Outreach: the drafts a trigger proposes to send, and the compliance review they pass first.

Imports ``forewarn.core`` only (never Bytewax, River or Redis), so ``forewarn lint`` starts fast.
"""
