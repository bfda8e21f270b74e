"""Customer-analytics workbench: the shared, tested logic behind the notebooks.

Shared rooms: ``core`` (engine, units, mle, io, runfiles, registry), ``contracts`` (reading and
checking input files), ``reporting`` (metrics, display, plots), ``runner``/``cli`` (the
``workbench`` command), ``synth`` (``workbench synth``). One package per analysis domain
(``clv``, ``segmentation``, ``survey``, ``channels``, ``quality``), each declared once in its
``domain.py`` (see :mod:`helpers.core.registry`).
"""

__version__ = "0.1.0"
