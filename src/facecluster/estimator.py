"""scikit-learn's estimator conventions without importing scikit-learn.

The learners and clusterers here follow scikit-learn's API (parameters declared by
``__init__``, ``get_params``/``set_params``, ``fit`` then ``transform`` or ``labels_``),
so that ``sklearn.base.clone``, ``Pipeline`` and grid searches take them. Inheriting
``sklearn.base.BaseEstimator`` for that would import scikit-learn in every run (~0.8 s
of CPU on 2 cores, spent while detection needs both cores), and nothing else in a run
needs it. These bases give the same methods; :meth:`Estimator.__sklearn_tags__`, which
only scikit-learn itself calls, imports it then.
"""
from __future__ import annotations

import inspect
from typing import Any


class Estimator:
    """``get_params``, ``set_params`` and ``repr`` from the keyword parameters of the subclass's ``__init__``."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        return sorted(p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters, by name (``deep``: with those of parameters that are estimators, as ``name__param``)."""
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{key}", v) for key, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> "Estimator":
        """Set parameters by name (``name__param`` for a parameter of a parameter); returns self."""
        valid = self._get_param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {valid!r}.")
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{name}={value!r}" for name, value in self.get_params(deep=False).items()
                   if not (name in defaults and _same(defaults[name], value))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags, TransformerTags

        tags = Tags(estimator_type=None, target_tags=TargetTags(required=False), transformer_tags=None,
                    regressor_tags=None, classifier_tags=None)
        if isinstance(self, TransformerMixin):
            tags.transformer_tags = TransformerTags()
        if isinstance(self, ClusterMixin):
            tags.estimator_type = "clusterer"
            if tags.transformer_tags is not None:
                tags.transformer_tags.preserves_dtype = []
        return tags


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:  # noqa: BLE001 - arrays and the like: shown as changed
        return False


class ClusterMixin:
    """``fit_predict``: ``fit`` then ``labels_``."""

    _estimator_type = "clusterer"

    def fit_predict(self, X, y=None, **kwargs):
        self.fit(X, **kwargs)
        return self.labels_


class TransformerMixin:
    """``fit_transform``: ``fit`` then ``transform``."""

    def fit_transform(self, X, y=None, **fit_params):
        fitted = self.fit(X, **fit_params) if y is None else self.fit(X, y, **fit_params)
        return fitted.transform(X)
