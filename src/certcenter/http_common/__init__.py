"""What the two HTTP adapters share: ``api`` (the ``/v1`` API) and ``web`` (the pages).

Neither adapter imports the other; what both need to know about a request lives here.

    from certcenter.http_common.request_facts import center_of, client_ip
"""
