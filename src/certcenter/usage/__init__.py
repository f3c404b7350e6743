"""Using a certificate (SPEC §6): login and sessions, transfers with signed evidence,
document signing."""
