"""The center's side of copying a joint certificate between devices (인증서 복사): a relay
that holds a sealed payload it cannot open, for minutes at most (docs/certificate-copy.md)."""

from certcenter.relay.copies import CertificateCopies, CopyOpened, PayloadFetched

__all__ = ["CertificateCopies", "CopyOpened", "PayloadFetched"]
