"""Prometheus metrics of the nameko services: the series, how they are counted, the exporter."""
