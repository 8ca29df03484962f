"""The grants the hub accepts at its token endpoint, one module each."""
