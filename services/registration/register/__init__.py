"""The population register: its records, its table, the adapter that reads it, the CSV import."""
