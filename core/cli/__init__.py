"""The command line: one module per sub-command, one map from the project's errors to exit codes."""

#: The headless sub-commands (besides ``--self-test``); the launcher sends these to
#: ``core.cli.main`` and names them when a mistyped word or a missing display stops the
#: window. Here, not in ``main``, so the launcher knows them without importing the commands
#: (a quarter of a second before the window could paint).
COMMANDS = ("classify", "train", "evaluate", "validate", "listen", "pacs")
