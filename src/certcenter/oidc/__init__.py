"""The OpenID provider (OpenID Connect 제공자): sites log their visitors in with the visitors'
certificates at the center. :mod:`certcenter.oidc.provider` is the service; the protocol is
Authlib's server components; ID tokens are signed in the key backend (:mod:`.keys`)."""
