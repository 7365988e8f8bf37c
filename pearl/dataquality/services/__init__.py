"""Writes of the data-quality app: import jobs (imports), mapping presets (presets), reports (report)."""
