"""CovidCXR core: everything the product does without a screen.

This package never imports Qt; ``gui`` builds on it, never the other way round.
"""

__version__ = "0.1.0"
