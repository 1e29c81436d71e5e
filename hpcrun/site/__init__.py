"""Site configs: what a cluster offers, and how a workflow maps onto it."""
