"""Runs of whole inputs: a video or photo folder from file to written outputs, here or on Dask."""
