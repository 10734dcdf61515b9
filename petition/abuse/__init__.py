"""Abuse: rate limits in layers, bot traps and quiet flagging.

Hard limits (HTTP 429) live in :mod:`petition.abuse.limits`; the quiet checks that
hold a signature for a moderator in :mod:`petition.abuse.screening`; what an
operator or organizer then does with held signatures in :mod:`petition.moderation`.
"""
