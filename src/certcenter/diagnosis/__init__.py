"""왜 발급이 안 되나요? — why issuance fails for a customer, as a checklist from their real state.

checklist = center.diagnosis.for_customer(customer.id)
for item in checklist.items:
    print(item.key, item.status, item.code)   # phone_own_name problem PHONE_NOT_OWN_NAME
"""

from certcenter.diagnosis.checklist import (
    DEFAULT_CHECKS,
    FACTOR_LOCK_CODES,
    Check,
    CheckItem,
    Checklist,
    Situation,
)
from certcenter.diagnosis.service import Diagnosis

__all__ = [
    "DEFAULT_CHECKS",
    "FACTOR_LOCK_CODES",
    "Check",
    "CheckItem",
    "Checklist",
    "Diagnosis",
    "Situation",
]
