"""The joint certificate (공동인증서): registration at the bank (the RA step) and the CA side
of its CMP issuance, renewal and revocation. See docs/joint-certificate.md.

- :mod:`.registration`: the registration flow on the flow engine → reference number and
  authorization code, shown once (:class:`JointRegistrations`).
- :mod:`.authority`: what the CMP server calls (:class:`JointAuthority`).
- :mod:`.login`: login with the joint certificate (its RSA key signs a challenge) into a
  session whose transfers and documents the certificate's software signs (:class:`JointLogin`).
- :mod:`.fees`: the 범용 fee through the bank, refunded when unused.
- :mod:`.other`: another institution's joint certificate registered to log in (타기관).
- :mod:`.challenge`: the challenge the certificate's key signs, for either.
- :mod:`.kinds`: the two kinds, their profiles, and how secrets are sealed.
"""

from certcenter.joint.authority import JointAuthority, JointEnrolled
from certcenter.joint.fees import FeeDesk
from certcenter.joint.login import JointLogin, JointLoginAttempt, JointLoginResult
from certcenter.joint.registration import JointRegistrations, RegistrationRef

__all__ = [
    "FeeDesk",
    "JointAuthority",
    "JointEnrolled",
    "JointLogin",
    "JointLoginAttempt",
    "JointLoginResult",
    "JointRegistrations",
    "RegistrationRef",
]
