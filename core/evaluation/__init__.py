"""Measuring a model: metrics with intervals, the shortcut and source probes, the non-X-ray set, site validation."""
