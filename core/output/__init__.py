"""What CovidCXR writes: predicted.csv and its crash-safe journal, and the DICOM results
(Structured Report, heat-map Secondary Capture)."""
