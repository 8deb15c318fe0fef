"""The fault suite's knobs, from the environment (``make chaos`` raises them):

  FAULT_ROUNDS                1    rounds of each crash and outage
  FAULT_LOAD_SECONDS          2    at least this long a stream of requests runs before and after a fault
  FAULT_BROKER_DOWN_SECONDS   30   how long the broker stays stopped
  FAULT_DB_DOWN_SECONDS       6    how long PostgreSQL stays stopped
  FAULT_RPC_TIMEOUT_SECONDS   2.5  the gateway's RPC deadline (RPC_TIMEOUT_SECONDS of the platform)
"""
from __future__ import annotations

import os

ROUNDS = int(os.environ.get("FAULT_ROUNDS", "1"))
LOAD_SECONDS = float(os.environ.get("FAULT_LOAD_SECONDS", "2"))
BROKER_DOWN_SECONDS = float(os.environ.get("FAULT_BROKER_DOWN_SECONDS", "30"))
DB_DOWN_SECONDS = float(os.environ.get("FAULT_DB_DOWN_SECONDS", "6"))
DEADLINE = float(os.environ.get("FAULT_RPC_TIMEOUT_SECONDS", "2.5"))
ANSWER_LIMIT = DEADLINE + 1.5      # the worst answer time accepted: the deadline plus the gateway's own work
CLIENT_TIMEOUT = DEADLINE + 15     # a client that waits this long calls it a hang
