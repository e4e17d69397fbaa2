"""The one fake AWS account and region stormproof puts wherever AWS would put real ones:
state machine and execution ARNs, the ``$$`` context object, and event envelopes.

stormproof has neither accounts nor regions; these are the values AWS's documentation
examples and the recorded conformance vectors use, so ARNs and events look like AWS's.
"""

from typing import Final

ACCOUNT: Final = "111111111111"
REGION: Final = "us-east-1"
DEFAULT_ROLE_ARN: Final = f"arn:aws:iam::{ACCOUNT}:role/stormproof"
