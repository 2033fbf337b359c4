"""Adapters for other trainers; each imports its framework only when used."""
