"""Demo data for development and trying the portal out (``portal seed-demo``): never in
production. Accounts and clients in ``clients``, a few filed letters in ``documents``.
"""

from portal.demo.clients import DEMO_LOGINS, SeedReport, seed_demo
from portal.demo.documents import seed_documents

__all__ = ["DEMO_LOGINS", "SeedReport", "seed_demo", "seed_documents"]
