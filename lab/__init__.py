"""qpslab harness."""
