"""Channels: which channels earn the money (paths and attribution, marketing mix).

For now the domain declares its inputs (``journeys`` and ``spend``, see :mod:`.domain`),
simulates them (:mod:`.simulate`) and holds the media transforms the models share
(:mod:`.transforms`: geometric adstock, logistic saturation).
"""
