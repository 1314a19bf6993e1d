"""What every page uses that is not a widget: worker threads, the user's model library."""
