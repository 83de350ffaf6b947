"""Shared test set-up: keep servicecheck's on-disk cache out of the user's home during tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The CLI and the Auditor cache the compiled pack (servicecheck.policy.cache);
    # tests must neither read a developer's cache nor leave entries in it.
    os.environ["SERVICECHECK_CACHE_DIR"] = str(tmp_path_factory.mktemp("servicecheck-cache"))
