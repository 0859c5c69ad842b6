"""legpress.cli."""
