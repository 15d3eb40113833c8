"""The `shebao` command shell: the top floor that wires the CLI, the demo and the reader queries."""
