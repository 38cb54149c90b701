"""The typer CLI: thin adapters that parse, call the library, and map the result to an exit code."""
