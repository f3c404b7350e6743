"""Authentication factors: the PIN (간편비밀번호) and pattern rules, peppered argon2id hashing,
and single-use expiring verification codes."""
