"""Experiments that orchestrate the library: ``compare`` (analytic vs random init)."""
