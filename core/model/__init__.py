"""The model: preprocessing, the card, the networks, loading and saving, inference, heat maps, the out-of-distribution checks."""
