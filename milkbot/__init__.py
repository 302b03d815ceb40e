"""Milkbot's entry points: settings, bootstrap and the ``milkbot`` command."""
