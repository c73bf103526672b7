"""Code that runs inside the traced program (standard library only, Python 3.9+)."""
