"""Demo documents: short Hungarian and English letters filed for the first demo clients."""

from __future__ import annotations

import io
import logging
import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.demo.dates import local_day, office_time
from portal.models.clients import Client
from portal.models.documents import DocType
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, Refused, file_document
from portal.storage import Storage

log = logging.getLogger(__name__)

LETTERS: list[tuple[DocType, str, str]] = [
    (DocType.CONTRACT, "Kölcsönszerződés",
     "Kölcsönszerződés\n\nAdós: {name}\nA hitel összege: {amount} Ft, futamidő 36 hónap.\n"
     "A havi törlesztőrészlet {installment} Ft, esedékes minden hónap 10. napján.\n"
     "Az adós hitelképességét a hitelbírálat során megvizsgáltuk; a hitelképesség "
     "vizsgálatának eredménye: megfelelő.\n"
     "Az adós a hiteligénylésben felsorolta a meglévő hitelkártyákat és kölcsönöket."),
    (DocType.BANK_STATEMENT, "Bankszámlakivonat",
     "Bankszámlakivonat – {month}\n\nSzámlatulajdonos: {name}\nNyitó egyenleg: {amount} Ft\n"
     "Jóváírások: munkabér, {installment} Ft\nTerhelések: hitelkártya-törlesztés, "
     "közüzemi számlák.\nZáró egyenleg a hónap végén."),
    (DocType.INCOME_PROOF, "Jövedelemigazolás",
     "Munkáltatói jövedelemigazolás\n\nIgazoljuk, hogy {name} határozatlan idejű "
     "munkaviszonyban áll cégünknél.\nHavi bruttó jövedelme: {amount} Ft."),
    (DocType.CORRESPONDENCE, "Fizetési emlékeztető",
     "Tisztelt {name}!\n\nSzeretnénk emlékeztetni, hogy a(z) {installment} Ft összegű "
     "törlesztőrészlet esedékessége lejárt.\nKérjük, rendezze tartozását 8 napon belül.\n"
     "Üdvözlettel: Hitelügyintézés"),
    (DocType.CREDIT_REPORT, "Credit report",
     "Credit report\n\nSubject: {name}\nOpen credit lines: 2 credit cards, 1 personal loan.\n"
     "Payment history: no missed payments in the last 24 months.\n"
     "Total outstanding balance: HUF {amount}."),
    (DocType.CORRESPONDENCE, "Payment plan proposal",
     "Dear {name},\n\nFollowing our call, we propose a payment plan of HUF {installment} "
     "per month.\nYour latest bank statement shows that it fits your budget; please "
     "confirm.\nKind regards,\n"
     "Credit Office"),
]


def seed_documents(db: Session, storage: Storage, *, today: date, clients: int = 12,
                   seed: int = 2026) -> int:
    """File a few letters for the first unrestricted demo clients; return how many."""
    rng = random.Random(seed)
    rows = db.scalars(select(Client).where(Client.restricted.is_(False))
                      .order_by(Client.id).limit(clients)).all()
    filed = 0
    now = datetime.now(UTC)
    for client in rows:
        # Dated between the client's first day with the office and today (200 days at most).
        known = max(0, min(200, (today - local_day(client.created_at)).days))
        for doc_type, title, body in rng.sample(LETTERS, k=rng.randint(2, 4)):
            amount = rng.randrange(200, 5000) * 1000
            doc_date = today - timedelta(days=rng.randrange(0, known + 1))
            text = body.format(name=client.name, amount=f"{amount:,}".replace(",", " "),
                               installment=f"{amount // 36:,}".replace(",", " "),
                               month=f"{doc_date.year}. {doc_date.month:02d}.")
            meta = FileMeta(doc_type=doc_type, title=title, tags=("demo",), doc_date=doc_date)
            # Filed a day or two after it was written, never later than now (drawn before
            # filing, so a second run draws the same letters).
            filed_at = min(office_time(min(doc_date + timedelta(days=rng.randint(0, 2)), today),
                                       10, rng), now)
            try:
                with db.begin_nested():
                    document = file_document(db, SYSTEM, storage, client.id,
                                             io.BytesIO(text.encode()), f"{title}.txt", meta,
                                             max_bytes=10**6)
                filed += 1
                document.created_at = filed_at
                for version in document.versions:
                    version.uploaded_at = document.created_at
            except Refused:
                pass  # the same letter twice for one client: filed once
    log.info("filed %s demo documents", filed)
    return filed
