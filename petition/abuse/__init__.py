"""Abuse: rate limits in layers, bot traps, quiet flagging and moderation.

Hard limits (HTTP 429) live in :mod:`petition.abuse.limits`; the quiet checks that
hold a signature for a moderator in :mod:`petition.abuse.screening`; what an
operator or organizer does with held signatures in :mod:`petition.abuse.service`.
"""
