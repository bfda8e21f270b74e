"""Customer-analytics workbench: the shared, tested logic behind the notebooks.

Modules: ``contracts`` (reading and checking input files), ``engine`` (DuckDB/Ibis),
``synth`` (simulated data with known truth), ``reporting`` (metrics and report pieces),
``plots`` (one theme), ``runner``/``cli`` (the ``workbench`` command), and one module per
analysis domain (``clv``, ...).
"""

__version__ = "0.1.0"
