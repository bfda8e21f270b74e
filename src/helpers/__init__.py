"""Customer-analytics workbench: the shared, tested logic behind the notebooks.

Shared rooms: ``core`` (engine, units, mle, io, runfiles, registry), ``contracts`` (reading and
checking input files), ``reporting`` (metrics, display, plots), ``runner``/``cli`` (the
``workbench`` command), ``synth`` (``workbench synth``). One package per analysis domain
(``clv``, ``segmentation``, ``survey``, ``channels``, ``quality``), each declared once in its
``domain.py`` (see :mod:`helpers.core.registry`).
"""

import os

__version__ = "0.1.0"

# OpenMP threads (scikit-learn's gradient boosting) that spin while they wait stall for minutes
# when another process holds a core: 5.7 s with passive waiting, over 90 s with active waiting
# beside one busy process on two cores. Read once, when the OpenMP runtime loads, so it is set
# here, before any model module is imported; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
