"""Citizen-database probe: a fresh connection and a representative lookup, timed."""
