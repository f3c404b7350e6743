"""The certificate record and its states (active ⇄ suspended → revoked, superseded, expired),
below both the one ``issue()`` and the lifecycle operations that move a certificate.

    from certcenter.certificates import records
    records.revoke(record, now, "keyCompromise")
"""
