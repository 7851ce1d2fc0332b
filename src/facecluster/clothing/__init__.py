"""The clothing cue: torso colour descriptors (:mod:`.descriptors`) and the self-calibrated
face + clothing distance between tracks of one scene (:mod:`.distance`)."""
