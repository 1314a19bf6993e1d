"""The training page: a widget-free session, the panels that show it, the tab that wires them."""
