"""The project's own benchmarks: each module has ``run`` (returns figures) and ``main`` (prints)."""
