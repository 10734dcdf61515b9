"""Moderation: what people do with held (flagged) signatures, and the purge.

Above signing: it chooses and reads signatures and records every action in the audit
log; the signing domain makes the changes. The quiet flagging that holds a
signature in the first place is the abuse domain's (:mod:`petition.abuse.screening`).
"""
