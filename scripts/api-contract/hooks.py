"""Schemathesis hooks of the API contract test (scripts/api-contract.sh).

The document names the formats of values only the API itself can mint; these strategies
generate such values, so that schema-valid requests are valid requests.
"""

import base64

import schemathesis
from hypothesis import strategies as st


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"k:{key}".encode()).decode().rstrip("=")


# `format: grimos-cursor`: a `next_cursor` as the API returns it (the opaque position after
# the last item of a page). Any other string is `400 invalid_cursor`, as documented.
schemathesis.openapi.format("grimos-cursor", st.text(max_size=40).map(_cursor))
