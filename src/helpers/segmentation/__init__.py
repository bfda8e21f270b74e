"""Customer segmentation: who the customers are (RFM, clusters, profiles, migration).

For now the domain declares its input (``customers``, see :mod:`.domain`) and simulates it
(:mod:`.simulate`).
"""
