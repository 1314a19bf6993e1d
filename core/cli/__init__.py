"""The command line: one module per sub-command, one map from the project's errors to exit codes."""
