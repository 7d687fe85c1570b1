"""Security tests: the gateway fixtures (tests/gateway/conftest.py)."""

from tests.gateway.conftest import (  # noqa: F401  (fixtures used by the security tests)
    base_settings,
    gateway_client,
    stack_settings,
)
