"""Words, names and sentence templates of the benchmark corpus (see ``bench.corpus``)."""

HU_STEMS = """hitel kölcsön hitelkártya törlesztőrészlet bankszámla bankszámlakivonat
jövedelemigazolás szerződés kamat kamatláb futamidő tartozás egyenleg átutalás befizetés
kifizetés jóváírás terhelés számla díj költség munkáltató munkabér fizetés nyugdíj adós adóstárs
kezes fedezet ingatlan jelzálog lakás gépjármű biztosítás végrehajtás késedelem felszólítás
ügyfél tanácsadó hitelbírálat hitelképesség hitelkeret folyószámla megtakarítás betét követelés
határidő hiteligénylés kérelem igazolás nyilatkozat adóazonosító lakcím értékbecslés önerő
kezelési ügylet részlet tőke kamattámogatás hitelintézet bank fiók iroda ügyintéző aláírás
melléklet dokumentum adat jövedelem bevétel kiadás hónap év nap összeg forint elszámolás
kivonat tranzakció vásárlás készpénz kártya limit előtörlesztés zálogjog tulajdon hagyaték
megállapodás felmondás módosítás panasz válasz levél értesítés tájékoztatás""".split()
HU_HEADS = """szerződés igazolás kérelem számla kivonat kamat díj keret részlet tartozás
bírálat nyilatkozat biztosítás egyenleg megállapodás értesítés költség határidő""".split()
HU_FUNCTION = """a az és hogy nem is egy ezt meg de ha vagy mint már csak szerint alapján után
között részére tárgyában valamint továbbá illetve kérjük tisztelt amely ami ezért""".split()
EN_WORDS = """statement payment balance account transfer deposit withdrawal interest rate loan
credit debit card overdraft fee charge mortgage borrower lender guarantor income salary
employer report score inquiry delinquency default repayment installment schedule agreement
contract clause party term notice letter request application approval review limit amount
transaction purchase merchant branch customer office document signature period month year date
principal annual percentage arrears collection settlement refund adjustment reference
confirmation address property valuation insurance security obligation breach termination
amendment complaint response enclosure employment pension savings bank total minimum due""".split()
EN_FUNCTION = """the of and to in for on with by is are this that from as your our be will
please we you at or not any all has have""".split()
FAMILY = """Kovács Szabó Tóth Nagy Horváth Varga Kiss Molnár Németh Farkas Balogh Papp Lakatos
Takács Juhász Oláh Mészáros Simon Fekete Rácz Fülöp Bíró Szűcs Hegedűs Győri Bennett Carter
Hughes Walker Turner""".split()
GIVEN = """Eszter Ödön Anna Zoltán Katalin Péter Gábor Réka Ildikó Ákos Bence Zsófia Erzsébet
Tünde Győző Örs Oliver Emily James Charlotte""".split()
CITIES = "Budapest Debrecen Szeged Pécs Győr Miskolc Eger Sopron Kecskemét Nyíregyháza".split()
STREETS = "Petőfi Kossuth Rákóczi Széchenyi Ady Dózsa Bartók Jókai Arany Hunyadi".split()
BANKS = ["OTP Bank", "K&H Bank", "Erste Bank", "MBH Bank", "UniCredit", "Raiffeisen"]
MERCHANTS = ["TESCO", "SPAR", "ALDI", "LIDL", "MOL", "OMV", "DM", "ROSSMANN", "IKEA", "MÜLLER",
             "MEDIA MARKT", "DECATHLON", "BKV", "MÁV", "E.ON", "MVM", "TELEKOM", "VODAFONE"]
HU_MONTHS = ["január", "február", "március", "április", "május", "június", "július",
             "augusztus", "szeptember", "október", "november", "december"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]

HU_SENTENCES = [
    "A havi törlesztőrészlet összege {amount}, amelyet minden hónap {day}. napjáig kell "
    "megfizetni.",
    "Tájékoztatjuk, hogy a(z) {acct} számú bankszámlán {date} napon {amount} jóváírás történt.",
    "Kérjük, hogy a jövedelemigazolást és a bankszámlakivonatot {date} napjáig juttassa el "
    "irodánkba.",
    "Az ügyfél a hitelkártyákat {date} napon letiltotta, az új kártya {days} napon belül érkezik.",
    "A késedelmes fizetés miatt {amount} késedelmi kamatot számítunk fel.",
    "A kölcsön futamideje {months} hónap, az ügyleti kamat évi {pct}%, a THM {pct}%.",
    "Az adós, {name} ({city}, {street} utca {n}.) a szerződésben vállalt kötelezettségeit "
    "teljesítette.",
    "A hitelbírálat eredménye alapján {name} hitelképessége megfelelő.",
    "A KHR nyilvántartás szerint az ügyfélnek {n} aktív hitelszerződése van.",
    "A fennálló tartozás összege {date} napon {amount}.",
    "Nyitó egyenleg: {amount}. Záró egyenleg: {amount}.",
    "A munkáltató ({bank} {acct}) által kiállított jövedelemigazolás szerint a nettó havi "
    "jövedelem {amount}.",
    "Az előtörlesztés díja a előtörlesztett összeg {pct}%-a, legfeljebb {amount}.",
    "A jelzálogjog bejegyzése a(z) {city} {n}/{n} helyrajzi számú ingatlanra megtörtént.",
]
EN_SENTENCES = [
    "Your minimum payment of {amount} is due on {date}.",
    "The closing balance of account {acct} on {date} was {amount}.",
    "Please send us your latest bank statement and proof of income by {date}.",
    "The borrower, {name} of {city}, agrees to repay the loan in {months} monthly installments.",
    "Interest accrues at {pct}% per annum on the outstanding balance.",
    "A late payment fee of {amount} will be charged if the payment is not received by {date}.",
    "The credit report shows {n} open accounts and no defaults in the last {months} months.",
    "Dear {name}, thank you for your letter of {date} regarding your credit card statement.",
    "The opening balance was {amount} and the closing balance {amount}.",
    "Reference {ref}: transfer of {amount} to {bank} account {acct} completed on {date}.",
]

TITLES = {"hu": {"letter": "Levél", "bank_statement": "Bankszámlakivonat",
                 "credit_report": "Hiteljelentés", "contract": "Hitelszerződés"},
          "en": {"letter": "Letter", "bank_statement": "Bank statement",
                 "credit_report": "Credit report", "contract": "Loan agreement"}}
