"""Security media (보안매체) besides the certificate: the mobile OTP and the security card."""
