"""Notebook doors: rich display of the public objects (widgets and magics come later)."""
