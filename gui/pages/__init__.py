"""One package a page (classify, train, validate): a session, panels that show it, its jobs."""
