"""Policy for a center that many tests share (a module's web center, the browser tests' server).

Such a center sends codes for every test's flows of the same demo people, from one address,
within a frozen (or a few minutes of real) time: that is not one person's flood, so its SMS
budget is opened up. The budget itself is tested on centers of their own (tests/security).
"""

from __future__ import annotations

SHARED_CENTER_POLICY: dict[str, int] = {
    "sms_resend_wait_seconds": 0,
    "sms_max_per_phone_hour": 10_000,
    "sms_max_per_phone_day": 10_000,
    "sms_max_per_person_hour": 10_000,
    "sms_max_per_person_day": 10_000,
    "sms_max_per_address_hour": 10_000,
    "sms_max_per_address_day": 10_000,
}


def policy_environment(policy: dict[str, int]) -> dict[str, str]:
    """The same values as ``certcenter serve`` reads them from its environment."""
    return {f"CERTCENTER_POLICY__{name.upper()}": str(value) for name, value in policy.items()}
