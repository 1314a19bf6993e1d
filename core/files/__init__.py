"""Reading and writing files: X-rays (images, DICOM), finding them, labelled folders, CSV export, atomic replacement."""
