"""Measuring methods: metrics, evaluation on test pairs and photos, steganalysis, reports."""
