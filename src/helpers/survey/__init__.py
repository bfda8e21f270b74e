"""Survey analysis: what customers think (scores, reliability, drivers, weighting).

For now the domain declares its input (``responses``, see :mod:`.domain`) and simulates it
(:mod:`.simulate`).
"""
