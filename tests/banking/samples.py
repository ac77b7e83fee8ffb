"""Sample statements written for these tests (shapes as Hungarian corporate netbanks export)."""

CAMT_02 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STM20261130001</MsgId><CreDtTm>2026-11-30T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>2026-11-30-001</Id>
      <CreDtTm>2026-11-30T18:00:00</CreDtTm>
      <Acct><Id><IBAN>HU42117730161111101800000000</IBAN></Id><Ccy>HUF</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="HUF">1000000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-30</Dt></Dt></Bal>
      <Ntry>
        <Amt Ccy="HUF">125000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-30</Dt></BookgDt>
        <ValDt><Dt>2026-11-30</Dt></ValDt>
        <AcctSvcrRef>OTP20261130000123</AcctSvcrRef>
        <BkTxCd><Prtry><Cd>Átutalás jóváírás</Cd></Prtry></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>NOTPROVIDED</EndToEndId><TxId>TX-0001</TxId></Refs>
          <RltdPties>
            <Dbtr><Nm>Kovács   Gábor</Nm></Dbtr>
            <DbtrAcct><Id><IBAN>HU93 1160 0006 0000 0000 1234 5676</IBAN></Id></DbtrAcct>
          </RltdPties>
          <RmtInf><Ustrd>HSZ-2026/0042 novemberi</Ustrd><Ustrd>törlesztő részlet</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="HUF">48500</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-30</Dt></BookgDt>
        <AcctSvcrRef>OTP20261130000124</AcctSvcrRef>
        <AddtlNtryInf>Irodabérlet december</AddtlNtryInf>
        <NtryDtls><TxDtls>
          <RltdPties>
            <Cdtr><Nm>Irodaház Kft.</Nm></Cdtr>
            <CdtrAcct><Id><Othr><Id>10918001-00000012-34560001</Id></Othr></Id></CdtrAcct>
          </RltdPties>
          <RmtInf><Ustrd>Számla 2026/1187</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="HUF">30000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><DtTm>2026-11-29T23:59:10+01:00</DtTm></BookgDt>
        <NtryRef>NR-77</NtryRef>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>E2E-HSZ-2026-0043</EndToEndId></Refs>
          <RltdPties>
            <Dbtr><Nm>Nagy Éva</Nm></Dbtr>
            <DbtrAcct><Id><Othr><Id>11600006-00000000</Id></Othr></Id></DbtrAcct>
          </RltdPties>
        </TxDtls></NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()

CAMT_08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>K-2026-11-30</MsgId><CreDtTm>2026-11-30T20:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>S1</Id>
      <Acct><Id><IBAN>HU42117730161111101800000000</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Ntry>
        <Amt Ccy="EUR">1250.5</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-11-30</Dt></BookgDt>
        <AcctSvcrRef>K&amp;H-991</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <Refs><AcctSvcrRef>K&amp;H-991-1</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <RltdPties>
            <Dbtr><Pty><Nm>Example GmbH</Nm></Pty></Dbtr>
            <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
          </RltdPties>
          <RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">99.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>PDNG</Cd></Sts>
        <BookgDt><Dt>2026-12-01</Dt></BookgDt>
        <AcctSvcrRef>K&amp;H-992</AcctSvcrRef>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">300.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-11-30</Dt></BookgDt>
        <AcctSvcrRef>K&amp;H-993</AcctSvcrRef>
        <NtryDtls>
          <TxDtls>
            <Refs><TxId>B1</TxId></Refs>
            <Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
            <RltdPties><Dbtr><Pty><Nm>Első Bt.</Nm></Pty></Dbtr></RltdPties>
            <RmtInf><Ustrd>HSZ-2026/0050</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <AmtDtls><TxAmt><Amt Ccy="EUR">200.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Pty><Nm>Második Zrt.</Nm></Pty></Dbtr></RltdPties>
            <RmtInf><Ustrd>HSZ-2026/0051</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()

#: OTP-style export: Windows-1250, semicolons, decimal comma, ``2026.11.30.`` dates, a line
#: about the account before the header, a summary line at the end.
OTP_CSV = (
    "Számlaszám: 11773016-11111018;;;;;;;\r\n"
    "Könyvelés dátuma;Értéknap;Tranzakció azonosító;Partner neve;Partner számlaszáma;"
    "Közlemény;Összeg;Devizanem\r\n"
    "2026.11.30.;2026.11.30.;OTP-000123;Kovács Gábor;11600006-00000000-12345676;"
    "HSZ-2026/0042 novemberi részlet;125 000,00;HUF\r\n"
    "2026.11.30.;2026.11.30.;OTP-000124;Irodaház Kft.;10918001-00000012-34560001;"
    "Számla 2026/1187;-48 500,00;HUF\r\n"
    '2026.11.29.;2026.11.30.;OTP-000125;"Tóth Ödön; ügyvéd";11773016-22222222;'
    "HSZ-2026/0043;1.234.567,00;HUF\r\n"
    "Összesen:;;;;;;1 311 067,00;HUF\r\n"
).encode("cp1250")

ENGLISH_CSV = (
    b"Date,Transaction ID,Name,Account,Reference,Amount,Currency\n"
    b'2026-11-30,TX1,Example GmbH,DE89 3704 0044 0532 0130 00,"Invoice 17, November",'
    b'"1,250.50",EUR\n'
    b"2026-11-30,TX2,Office Supplies Ltd,GB33BUKB20201555555555,Order 5,-99.90,EUR\n"
)
