"""Issuance of the mobile certificate (KB국민인증서 발급) as a persisted state machine."""
