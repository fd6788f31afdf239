"""Model presets (YAML). See lakemon.config.templates."""
