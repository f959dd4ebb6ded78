"""The security tests read the access log: the shared ``settings`` with ``access_log``."""

import pytest


@pytest.fixture
def settings(settings, access_log):
    return {**settings, "access_log": access_log}
