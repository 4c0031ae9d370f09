"""Rating and ranking metrics as pure numpy functions."""
