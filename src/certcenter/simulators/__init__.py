"""Embedded simulators of the center's outside parties: the telco (phone verification and
SMS), the banks (1-won deposit and statements) and the ID registry.

They are real programs with their own database, seeded with the demo world; each shows its
other side to a person (``/sim/...`` pages and ``certcenter sim ...`` commands). They are the
default providers; real adapters implement the same Protocols in
:mod:`certcenter.identity.providers`.
"""
