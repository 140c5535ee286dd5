"""The built-in rule pack, one module per theme; each module registers its rules on import."""
