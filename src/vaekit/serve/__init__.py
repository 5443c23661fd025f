"""``vaekit serve``: a local page to explore a trained image run's latent space (``app``), backed by
batched decodes of the model (``decode``); the page's HTML, script and style ship in ``static/``."""
