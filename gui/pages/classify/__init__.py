"""The Classify page: the main window's first tab (see ``gui.shell.window``)."""
