"""The lab's file formats: scenario and target files (TOML), read into lab.model's records."""
