"""Outbound messages: drafts from templates, and the compliance review every text gets before it is sent.

Imports ``forewarn.core`` only (never Bytewax, River or Redis), so ``forewarn lint`` starts fast.
"""
