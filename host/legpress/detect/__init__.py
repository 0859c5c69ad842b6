"""legpress.detect."""
