"""Tests of certcenter.authn."""
