"""certcenter — a self-hostable certificate center (인증센터) for a bank.

The domain core (``pki``, ``keys``, ``identity``, ``authn``, ``enrollment``, ``risk``,
``audit``, ``errors``) knows nothing of HTTP, the command line or SQL; ``storage`` is the
only package that speaks SQL; ``api`` and ``cli`` are thin adapters over the core services;
``simulators`` are the embedded outside parties (telco, interbank transfer, ID registry).
"""

__version__ = "0.1.0"
