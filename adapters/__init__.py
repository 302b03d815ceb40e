"""Adapters to the outside world: each translates a venue's wire protocol; none decides."""
