"""Importing a team's own interactions (CSV, TSV, Parquet; ratings or implicit feedback)
into the data folder as a dataset training reads like a MovieLens one."""
