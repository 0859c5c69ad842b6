"""legpress.storage."""
