"""The command-line edge: Typer commands that parse, call one library function and render."""
