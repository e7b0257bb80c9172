"""Grafana dashboards as grafanalib code (``*.dashboard.py``), built to JSON by ``forewarn dashboards build``."""
