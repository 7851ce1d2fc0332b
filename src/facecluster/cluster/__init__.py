"""Clustering with cannot-links: agglomerative (:mod:`.agglomerative`), FINCH (:mod:`.finch`)
over nearest neighbours (:mod:`.knn`), the methods by name (:mod:`.registry`), track
features (:mod:`.tracks`) and people linked across videos (:mod:`.linking`)."""
