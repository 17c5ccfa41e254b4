"""Notify's pure domain: no I/O, no faust, the clock is always a parameter."""
