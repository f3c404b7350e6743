"""Tests of certcenter.identity."""
