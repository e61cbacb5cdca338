"""Chromium for the notebook tests: the browser tests' own fixtures (tests/browser/conftest.py)."""

from tests.browser.conftest import browser, context  # noqa: F401  (fixtures, by name)
