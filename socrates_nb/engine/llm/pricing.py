"""Estimated cost of a call from list prices (USD per million tokens, input and output).

The table holds the vendors' list prices for common models, matched by name prefix (the
longest wins). A model it does not know (a local server's, say) is estimated at 0.
"""

from __future__ import annotations

PRICES: dict[str, tuple[float, float]] = {
    "claude-sonnet-5": (3.0, 15.0),  # the Sonnet tier's list price when this was written: check the vendor's page
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-haiku-4": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4o": (2.5, 10.0),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-5-nano": (0.05, 0.4),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5": (1.25, 10.0),
}


def estimate_cost(model: str, tokens_in: int, tokens_out: int) -> float:
    """USD for ``tokens_in`` + ``tokens_out`` of ``model`` (0 for a model not in :data:`PRICES`)."""
    prefix = max((p for p in PRICES if model.startswith(p)), key=len, default=None)
    if prefix is None:
        return 0.0
    price_in, price_out = PRICES[prefix]
    return round((tokens_in * price_in + tokens_out * price_out) / 1_000_000, 6)
