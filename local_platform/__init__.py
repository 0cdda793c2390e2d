"""The whole platform on one machine: AWS APIs from moto, the REST API on loopback through the
same handlers the stack deploys, wired by the same table (wiring.json)."""
