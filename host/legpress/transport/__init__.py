"""legpress.transport."""
