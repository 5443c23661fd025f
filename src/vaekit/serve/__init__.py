"""``vaekit serve``: a local page to explore a trained image or text run's latent space (``app``),
backed by batched decodes of the model into images or sentences (``decode``); the page's HTML, script
and style ship in ``static/``."""
