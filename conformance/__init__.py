"""compatkit part; see DESIGN.md."""
