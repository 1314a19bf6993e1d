"""CovidCXR desktop application: a thin Qt skin over :mod:`core`."""
