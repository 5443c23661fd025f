"""Classical baselines the autoencoders are compared with (scikit-learn-style estimators)."""
from vaekit.baselines.logistic_pca import LogisticPCA

__all__ = ["LogisticPCA"]
