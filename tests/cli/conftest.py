"""Fixtures the CLI tests share."""

import pytest


@pytest.fixture
def live(mocker):
    """Install an in-memory API (an object with the live client's methods) as the cluster."""

    def install(api):
        mocker.patch("kubectl_lbip.snapshot.live.connect", return_value=api)
        return api

    return install
