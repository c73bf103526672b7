"""Code that runs inside sandbox containers (stdlib only, Python 3.9+); never imported by the host."""
