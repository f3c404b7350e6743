"""Tests of certcenter.media."""
