"""``trainwell serve``: validated HTTP serving of bundles with metrics, drift, versions and A/B.

One process (FastAPI on uvicorn) serves one model or several arms of a registered model:
``settings`` (what the user asked for), ``records`` (request validation and conversion),
``models`` (a loaded, warmed-up arm), ``routing`` (A/B assignment), ``shadow`` (a challenger off
the response path), ``metrics`` (Prometheus), ``requestlog`` (JSONL log for ``ab report``),
``app`` (the routes) and ``server`` (uvicorn with graceful shutdown).
"""
