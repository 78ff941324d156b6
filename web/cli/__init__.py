"""The `lookalike` command line; each command imports only what it uses."""
