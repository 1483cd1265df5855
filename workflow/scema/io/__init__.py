"""File formats: NetCDF datasets with CF metadata, written atomically."""
