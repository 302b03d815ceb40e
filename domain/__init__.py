"""Milkbot's pure core: events, rules and models. No I/O, no clock, no environment."""
