"""The certificate lifecycle (인증서 생명주기): renew, re-issue, revoke, suspend and release,
device deregistration, and the policies over time (auto-renewal, inactivity, expiry)."""
