"""The review page: correct a run's clustering in a browser (see :mod:`facecluster.review.server`)."""
from facecluster.review.server import make_server, url_of

__all__ = ["make_server", "url_of"]
