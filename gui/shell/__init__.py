"""The application: start-up, the main window's frame, settings, and the link between pages."""
