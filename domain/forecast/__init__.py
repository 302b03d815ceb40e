"""Forecast models: recorded weather in, a probability for every market of a ladder out."""
