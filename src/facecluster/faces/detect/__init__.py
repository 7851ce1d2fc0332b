"""Face detection backends, chosen by name from a registry.

Every backend is a :class:`FaceDetector`: ``detect(rgb)`` takes one (H, W, 3)
uint8 RGB frame and returns boxes (K, 4) float32 x1, y1, x2, y2 in pixels,
scores (K,) float32 in [0, 1] and landmarks (K, 5, 2) float32 (NaN when the
backend has none).
"""
from __future__ import annotations

from collections.abc import Callable

from facecluster.errors import ParameterError
from facecluster.faces.detect.base import FaceDetector, nms

_REGISTRY: dict[str, Callable[..., FaceDetector]] = {}


def register(name: str):
    def wrap(factory: Callable[..., FaceDetector]):
        _REGISTRY[name] = factory
        return factory

    return wrap


def available() -> list[str]:
    return sorted(_REGISTRY)


def make_detector(name: str, **params) -> FaceDetector:
    """A detector by registry name (``centerface``, ``yunet``, ``dlib-hog``)."""
    if name not in _REGISTRY:
        raise ParameterError(f"unknown detector {name!r} (choose from: {', '.join(available())})")
    return _REGISTRY[name](**params)


@register("centerface")
def _centerface(**params) -> FaceDetector:
    from facecluster.faces.detect.centerface import CenterFaceDetector

    return CenterFaceDetector(**params)


@register("yunet")
def _yunet(**params) -> FaceDetector:
    from facecluster.faces.detect.yunet import YuNetDetector

    return YuNetDetector(**params)


@register("dlib-hog")
def _dlib_hog(**params) -> FaceDetector:
    from facecluster.faces.detect.dlib_hog import DlibHogDetector

    return DlibHogDetector(**params)


__all__ = ["FaceDetector", "make_detector", "available", "register", "nms"]
