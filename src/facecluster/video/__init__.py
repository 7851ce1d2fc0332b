"""Video: decoding (:mod:`.decode`), shot boundaries (:mod:`.shots`), scenes (:mod:`.scenes`) and face tracks (:mod:`.tracking`)."""
