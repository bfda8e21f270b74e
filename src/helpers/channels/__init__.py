"""Channels: which channels earn their money, and where the next pound should go.

Same skeleton as the other domains: :mod:`.domain` declares the inputs (``journeys``,
``touchpoints``, ``spend``, ``costs``, ``funnel``) and the report's metrics; :mod:`.paths` turns raw
touchpoints into paths on the data engine (Ibis); the analyses are :mod:`.attribution` (heuristics),
:mod:`.markov` (exact removal effects) and :mod:`.shapley`, :mod:`.mmm` (+ :mod:`.mmm_fit`,
:mod:`.mmm_bootstrap`, :mod:`.transforms`: adstock and saturation), :mod:`.budget`,
:mod:`.scorecard` and :mod:`.funnel`; :mod:`.simulate`, :mod:`.simulate_base` and
:mod:`.simulate_funnel` make data with known truth; :mod:`.workflow` runs it all for the notebook,
with the sentences of :mod:`.narrative`.
"""
