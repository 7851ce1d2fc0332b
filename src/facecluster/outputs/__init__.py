"""Everything a run writes: tables, chips, clusters.json, the report (Jinja2 templates), Parquet, people across videos."""
