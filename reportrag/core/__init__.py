"""The bottom layer: data types, errors, settings, atomic file writing. Imports nothing else of ours."""
