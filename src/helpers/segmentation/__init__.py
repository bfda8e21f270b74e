"""Customer segmentation: who the customers are (RFM, value tiers, clusters, profiles, migration).

Layout (the skeleton of :mod:`helpers.clv`): :mod:`.data` (transaction log -> RFM per customer,
Ibis), :mod:`.rfm` (scores and the named-segment map), :mod:`.value` (ABC tiers, concentration,
predicted CLV), :mod:`.clustering` and :mod:`.cluster_names` (k-means / Gaussian mixture, choice of
k, stability, names), :mod:`.profiles` (segment x attribute chi-square tests), :mod:`.migration`
(movement between two snapshots), :mod:`.narrative` (the report's sentences), :mod:`.workflow`
(the notebook's entry point), :mod:`.simulate` (customer bases with known groups), :mod:`.domain`
(the ``customers`` contract and the metrics).
"""
