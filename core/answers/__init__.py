"""The checks that make an answer of a network's output: inference, test-time views, lung
evidence and the heat map (above core.model, which holds the networks and their files)."""
