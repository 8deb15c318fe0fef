"""Unit tests of the customers service."""
