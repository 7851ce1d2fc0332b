"""The people gallery: people remembered across runs (an SQLite file), and matching new people to them."""
from facecluster.gallery.match import match_to_gallery
from facecluster.gallery.store import Gallery, GalleryPerson, check_gallery_file

__all__ = ["Gallery", "GalleryPerson", "check_gallery_file", "match_to_gallery"]
