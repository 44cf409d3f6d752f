"""Uzum Bank Fast Pay through the Uzum merchant API."""
