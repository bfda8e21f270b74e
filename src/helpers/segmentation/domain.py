"""The segmentation domain's declaration: the ``customers`` contract and its simulator.

Light by design (standard library, ``helpers.core.registry`` and ``helpers.contracts.kinds``).
"""

from __future__ import annotations

from helpers.contracts.kinds import Contract, Field
from helpers.core.registry import Domain, register

CUSTOMERS = Contract(
    "customers",
    (
        Field("customer_id", "id", description="customer identifier, unique"),
        Field("signup_date", "date", required=False, nullable=True, description="first contact or signup"),
        Field("region", "text", required=False, nullable=True),
        Field("age_band", "text", required=False, nullable=True),
        Field("acquisition_channel", "text", required=False, nullable=True),
    ),
    "one row per customer",
    unique="customer_id",  # a repeated id is set aside (the first row is kept)
)

DOMAIN = register(
    Domain(
        name="segmentation",
        title="Customer segmentation",
        kinds=(CUSTOMERS,),
        simulators={"customers": "helpers.segmentation.simulate:generate_customers"},
    )
)
