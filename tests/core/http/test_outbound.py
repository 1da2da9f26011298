import ssl

import httpx2 as httpx

from todo_api.core.http.outbound import tls_context


def test_the_shared_context_verifies_as_httpx_does_by_default() -> None:
    shared, default = tls_context(), httpx.create_ssl_context()
    assert shared.verify_mode == ssl.CERT_REQUIRED
    assert shared.check_hostname
    assert shared.minimum_version == default.minimum_version
    assert shared.cert_store_stats() == default.cert_store_stats()


def test_the_context_is_built_once() -> None:
    assert tls_context() is tls_context()
