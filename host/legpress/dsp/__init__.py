"""legpress.dsp."""
