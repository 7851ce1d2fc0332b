"""The pipelines: thin compositions of stages for a video (:mod:`.video`) and a photo folder (:mod:`.photos`)."""
