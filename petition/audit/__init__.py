"""The audit log: who did what to which petition or signature, when and why."""
