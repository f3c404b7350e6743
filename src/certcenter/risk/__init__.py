"""Refusal rules that are not about identity: the device, the network, and abuse (SPEC §5)."""
