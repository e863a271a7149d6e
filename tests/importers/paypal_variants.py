"""PayPal header variants for the test factory, copied from the formats README.

Each header line below is verbatim from /work/shared/formats/README.md
(sections 1.2-1.4; the 41-column German and Italian lists from its table in
1.3), and each variant names which of its columns holds which field. The
Type/Status strings and the kind each must give are written out here, not
taken from the importer's tables, so a mistake there shows up as a mismatch.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass

# fmt: off
EN41 = '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net","From Email Address","To Email Address","Transaction ID","Shipping Address","Address Status","Item Title","Item ID","Shipping and Handling Amount","Insurance Amount","Sales Tax","Option 1 Name","Option 1 Value","Option 2 Name","Option 2 Value","Reference Txn ID","Invoice Number","Custom Number","Quantity","Receipt ID","Balance","Address Line 1","Address Line 2/District/Neighborhood","Town/City","State/Province/Region/County/Territory/Prefecture/Republic","Zip/Postal Code","Country","Contact Phone Number","Subject","Note","Country Code","Balance Impact"'  # noqa: E501
DE41 = "Datum|Uhrzeit|Zeitzone|Name|Typ|Status|Währung|Brutto|Gebühr|Netto|Absender E-Mail-Adresse|Empfänger E-Mail-Adresse|Transaktionscode|Lieferadresse|Adress-Status|Artikelbezeichnung|Artikelnummer|Versand- und Bearbeitungsgebühr|Versicherungsbetrag|Umsatzsteuer|Option 1 Name|Option 1 Wert|Option 2 Name|Option 2 Wert|Zugehöriger Transaktionscode|Rechnungsnummer|Zollnummer|Anzahl|Empfangsnummer|Guthaben|Adresszeile 1|Adresszusatz|Ort|Bundesland|PLZ|Land|Telefon|Betreff|Hinweis|Ländervorwahl|Auswirkung auf Guthaben"  # noqa: E501
IT41 = "Data|Orario|Fuso orario|Nome|Tipo|Stato|Valuta|Lordo|Tariffa|Netto|Indirizzo email mittente|Indirizzo email destinatario|Codice transazione|Indirizzo di spedizione|Stato dell'indirizzo|Titolo oggetto|Codice articolo|Importo spese di spedizione e imballaggio|Importo assicurazione|Imposte sulle vendite|Nome opzione 1|Valore opzione 1|Nome opzione 2|Valore opzione 2|Codice transazione di riferimento|N° ordine commerciante|Numero personalizzato|Quantità|Codice ricevuta|Saldo|Indirizzo|Indirizzo (continua)|Città|Provincia|CAP/Codice postale|Paese|Telefono|Oggetto|Messaggio|Prefisso internazionale|Impatto sul saldo"  # noqa: E501
EN_CUSTOM_19 = '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net","From Email Address","To Email Address","Transaction ID","Item Title","Item ID","Reference Txn ID","Receipt ID","Balance","Note"'  # noqa: E501
EN_UK_25 = '"Date","Time","Time zone","Name","Type","Status","Currency","Gross","Fee","Net","From Email Address","To Email Address","Transaction ID","Counterparty Status","Shipping Address","Address Status","Option 1 Name","Reference Txn ID","Quantity","Receipt ID","Country","Contact Phone Number","Subject","Balance Impact","Buyer Wallet"'  # noqa: E501
EN_HISTORY_2016 = "Date, Time, Time Zone, Name, Type, Status, Currency, Gross, Fee, Net, From Email Address, To Email Address, Transaction ID, Counterparty Status, Shipping Address, Address Status, Item Title, Item ID, Shipping and Handling Amount, Insurance Amount, Sales Tax, Option 1 Name, Option 1 Value, Option 2 Name, Option 2 Value, Auction Site, Buyer ID, Item URL, Closing Date, Escrow Id, Invoice Id, Reference Txn ID, Invoice Number, Custom Number, Receipt ID, Balance, Contact Phone Number,"  # noqa: E501
EN_HISTORY_AMOUNT = "Date, Time, Time Zone, Name, Type, Status, Amount, Receipt ID, Balance,"
DE_2016 = "Datum, Zeit, Zeitzone, Name, Typ, Status, Währung, Brutto, Gebühr, Netto, Von E-Mail-Adresse, An E-Mail-Adresse, Transactionscode, Status der Gegenpartei, Adressstatus, Artikelbezeichnung, Artikelnummer, Betrag für Versandkosten, Versicherungsbetrag, Umsatzsteuer, Option 1 - Name, Option 1 - Wert, Option 2 - Name, Option 2 - Wert, Auktions-Site, Käufer-ID, Artikel-URL, Angebotsende, Vorgangs-Nr., Rechnungs-Nr., Txn-Referenzkennung, Rechnungsnummer, Individuelle Nummer, Belegnummer, Guthaben, Adresszeile 1, Zusätzliche Angaben, Ort, Staat/Provinz/Region/Landkreis/Territorium/Präfektur/Republik, PLZ, Land, Telefonnummer, "  # noqa: E501
DE_2017 = "Datum, Zeit, Zeitzone, Name, Typ, Status, Betreff, Währung, Brutto, Gebühr, Netto, Hinweis, Von E-Mail-Adresse, An E-Mail-Adresse, Transactionscode, Zahlungsart,Status der Gegenpartei, Lieferadresse, Adressstatus, Artikelbezeichnung, Artikelnummer, Betrag für Versandkosten, Versicherungsbetrag, Umsatzsteuer, Trinkgeld, Rabatt, Mitgliedsname des Verkäufers, Option 1 - Name, Option 1 - Wert, Option 2 - Name, Option 2 - Wert, Auktions-Site, Käufer-ID, Artikel-URL, Angebotsende, Txn-Referenzkennung, Rechnungsnummer, Abonnementnummer, Individuelle Nummer, Belegnummer, Guthaben, Adresszeile 1, Zusätzliche Angaben, Ort, Staat/Provinz/Region/Landkreis/Territorium/Präfektur/Republik, PLZ, Land, Telefonnummer, Auswirkung auf Guthaben, "  # noqa: E501
ES_ACTIVITY = "Fecha|Hora|Zona horaria|Nombre|Divisa|Bruto|Tarifa|Saldo|Id. de transacción|Tipo|Correo electrónico del remitente|Correo electrónico del destinatario|Número de factura|Asunto|Nota"  # noqa: E501
EN_STATEMENT = '"Date","Time","Time Zone","Description","Currency","Gross","Fee","Net","Balance","Transaction ID","From Email Address","Name","Bank Name","Bank Account","Shipping and Handling Amount","Sales Tax","Invoice ID","Reference Txn ID"'  # noqa: E501
ES_STATEMENT = '"Fecha","Hora","Zona horaria","Descripción","Divisa","Bruto","Comisión","Neto","Saldo","Id. de transacción","Correo electrónico del remitente","Nombre","Nombre del banco","Cuenta bancaria","Importe de envío y manipulación","Impuesto de ventas","Id. de factura","Id. de referencia de trans.",,,,,,'  # noqa: E501
FR_STATEMENT = '"Date","Heure","Fuseau horaire","Description","Devise","Brut","Frais","Net","Solde","N° de transaction","De l\'adresse email","Nom","Nom de la banque","Compte bancaire","Montant des frais de livraison et de traitement","TVA","Numéro de facture","Numéro de la transaction de référence"'  # noqa: E501
DE_STATEMENT_2026 = '"Datum", "Uhrzeit", "Zeitzone", "Beschreibung", "Währung", "Brutto", "Entgelt", "Netto", "Guthaben", "Transaktionscode", "Absender E-Mail-Adresse", "Name", "Name der Bank", "Bankkonto", "Versand- und Bearbeitungsgebühr", "Umsatzsteuer", "Rechnungsnummer", "Zugehöriger Transaktionscode"'  # noqa: E501
# fmt: on

#: Field keys a variant maps to its columns, in the order _fields() takes names.
FIELDS = (
    "date",
    "time",
    "zone",
    "name",
    "type",
    "status",
    "currency",
    "gross",
    "fee",
    "net",
    "from",
    "to",
    "id",
    "ref",
    "item",
    "subject",
    "note",
    "balance",
    "impact",
    "amount",
)


def names(line: str) -> tuple[str, ...]:
    """The column names of a README header line (``|`` separates the table's lists)."""
    if "|" in line:
        return tuple(line.split("|"))
    cells = [c.strip() for c in next(csv.reader([line], skipinitialspace=True))]
    while cells and not cells[-1]:
        cells.pop()  # trailing empty columns: the variant's empty_header_cells
    return tuple(cells)


def fields(header: Sequence[str], columns: Sequence[str | None]) -> dict[str, str]:
    """field -> header name, listing the header names in :data:`FIELDS` order."""
    mapping = {f: n for f, n in zip(FIELDS, columns, strict=False) if n}
    assert all(n in header for n in mapping.values()), set(mapping.values()) - set(header)
    return mapping


@dataclass(frozen=True)
class Variant:
    """One PayPal header variant and how its cells are written."""

    name: str
    language: str
    header: tuple[str, ...]
    fields: dict[str, str]
    dates: str  # order + separator + "0" when padded: "mdy/0", "dmy.0", "dmy/", ...
    numbers: str  # "en" 1,234.56 | "de" 1.234,56 | "fr" 1 234,56 (no-break space)
    zone: str  # the account's IANA zone
    abbr: bool = True  # write zone abbreviations (PDT) rather than the IANA name
    style: str = "quoted"  # quoted | spaced (", " header, trailing comma) | qspaced ("a", "b")
    empty_header_cells: int = 0
    statement: bool = False  # a Description column instead of Type, and no Status


def _variant(name: str, language: str, line: str, columns: Sequence[str | None], dates: str,
             numbers: str, zone: str, **kwargs: object) -> Variant:  # fmt: skip
    header = names(line)
    return Variant(name, language, header, fields(header, columns), dates, numbers, zone, **kwargs)  # type: ignore[arg-type]


_E = (
    "Date",
    "Time",
    "TimeZone",
    "Name",
    "Type",
    "Status",
    "Currency",
    "Gross",
    "Fee",
    "Net",
    "From Email Address",
    "To Email Address",
    "Transaction ID",
    "Reference Txn ID",
    "Item Title",
    "Subject",
    "Note",
    "Balance",
    "Balance Impact",
)
_H = ("Date", "Time", "Time Zone", "Name", "Type", "Status")
_DE = (
    "Datum",
    "Zeit",
    "Zeitzone",
    "Name",
    "Typ",
    "Status",
    "Währung",
    "Brutto",
    "Gebühr",
    "Netto",
    "Von E-Mail-Adresse",
    "An E-Mail-Adresse",
    "Transactionscode",
    "Txn-Referenzkennung",
    "Artikelbezeichnung",
)
_ST = (
    None,
    "Currency",
    "Gross",
    "Fee",
    "Net",
    "From Email Address",
    None,
    "Transaction ID",
    "Reference Txn ID",
    None,
    None,
    None,
    "Balance",
)
LA, BERLIN = "America/Los_Angeles", "Europe/Berlin"
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    _variant("en_activity_2018", "en", EN41, _E, "mdy/0", "en", LA),
    _variant("en_activity_custom_2019", "en", EN_CUSTOM_19, (*_E[:15], None, "Note", "Balance"),
             "mdy/0", "en", LA),
    _variant("en_activity_uk_2019", "en", EN_UK_25, ("Date", "Time", "Time zone", *_E[3:14],
             None, "Subject", None, None, "Balance Impact"), "dmy/0", "en", "Europe/London"),
    _variant("en_history_2016", "en", EN_HISTORY_2016, (*_H, *_E[6:15], None, None, "Balance"),
             "mdy/", "en", LA, style="spaced", empty_header_cells=1),
    _variant("en_history_amount", "en", EN_HISTORY_AMOUNT, (*_H, *[None] * 11, "Balance", None,
             "Amount"), "mdy/", "en", LA, style="spaced", empty_header_cells=1),
    _variant("de_activity_2019", "de", DE41, (*names(DE41)[:13], "Zugehöriger Transaktionscode",
             "Artikelbezeichnung", "Betreff", "Hinweis", "Guthaben", "Auswirkung auf Guthaben"),
             "dmy.0", "de", BERLIN),
    _variant("de_activity_2016", "de", DE_2016, (*_DE, None, None, "Guthaben"), "dmy.0", "de",
             BERLIN, style="spaced", empty_header_cells=1),
    _variant("de_activity_2017", "de", DE_2017, (*_DE, "Betreff", "Hinweis", "Guthaben",
             "Auswirkung auf Guthaben"), "dmy.0", "de", BERLIN, style="spaced",
             empty_header_cells=1),
    _variant("it_activity", "it", IT41, (*names(IT41)[:13], "Codice transazione di riferimento",
             "Titolo oggetto", "Oggetto", "Messaggio", "Saldo", "Impatto sul saldo"), "dmy/0",
             "de", "Europe/Rome"),
    _variant("es_activity", "es", ES_ACTIVITY, ("Fecha", "Hora", "Zona horaria", "Nombre",
             "Tipo", None, "Divisa", "Bruto", "Tarifa", None, "Correo electrónico del remitente",
             "Correo electrónico del destinatario", "Id. de transacción", None, None, "Asunto",
             "Nota", "Saldo"), "dmy/", "de", "Europe/Madrid"),
    _variant("en_statement", "en", EN_STATEMENT, ("Date", "Time", "Time Zone", "Name",
             "Description", *_ST), "mdy/", "en", LA, abbr=False, statement=True),
    # [S5]: the same statement with "Fee " (trailing space) in the header
    _variant("en_statement_fee_space", "en", EN_STATEMENT.replace('"Fee"', '"Fee "'), (
             "Date", "Time", "Time Zone", "Name", "Description", None, "Currency", "Gross",
             "Fee", *_ST[4:]), "mdy/", "en", LA, statement=True),
    _variant("es_statement", "es", ES_STATEMENT, ("Fecha", "Hora", "Zona horaria", "Nombre",
             "Descripción", None, "Divisa", "Bruto", "Comisión", "Neto",
             "Correo electrónico del remitente", None, "Id. de transacción",
             "Id. de referencia de trans.", None, None, None, "Saldo"), "dmy/", "de", BERLIN,
             abbr=False, empty_header_cells=6, statement=True),
    _variant("fr_statement", "fr", FR_STATEMENT, ("Date", "Heure", "Fuseau horaire", "Nom",
             "Description", None, "Devise", "Brut", "Frais", "Net", "De l'adresse email", None,
             "N° de transaction", "Numéro de la transaction de référence", None, None, None,
             "Solde"), "mdy/", "fr", LA, abbr=False, statement=True),
    _variant("de_statement_2026", "de", DE_STATEMENT_2026, ("Datum", "Uhrzeit", "Zeitzone",
             "Name", "Beschreibung", None, "Währung", "Brutto", "Entgelt", "Netto",
             "Absender E-Mail-Adresse", None, "Transaktionscode", "Zugehöriger Transaktionscode",
             None, None, None, "Guthaben"), "dmy.0", "de", BERLIN, style="qspaced",
             statement=True),
)}  # fmt: skip

# Type strings per language -> the kind the importer must give (README 1.5).
TYPES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "donation": ("Donation Payment", "payment"), "website": ("Website Payment", "payment"),
        "subscription": ("Subscription Payment", "payment"),
        "express": ("Express Checkout Payment", "payment"), "mobile": ("Mobile Payment", "payment"),
        "refund": ("Payment Refund", "refund"), "reversal": ("Payment Reversal", "reversal"),
        "chargeback": ("Chargeback", "chargeback"),
        "chargeback_reversal": ("Chargeback Reversal", "chargeback"),
        "dispute_hold": ("Hold on Balance for Dispute Investigation", "hold"),
        "dispute_release": ("Cancellation of Hold for Dispute Resolution", "release"),
        "dispute_fee": ("Dispute Fee", "fee"),
        "conversion": ("General Currency Conversion", "conversion"),
        "withdrawal": ("General Withdrawal", "payout"),
        "deposit": ("Bank Deposit to PP Account ", "transfer"),
        "hold": ("Payment Hold", "hold"), "release": ("Payment Release", "release"),
        "authorization": ("General Authorization", "other"),
        "unknown": ("Mystery Credit Adjustment", "other"),
    },
    "de": {
        "donation": ("Website-Zahlung", "payment"), "mobile": ("Handyzahlung", "payment"),
        "express": ("PayPal Express-Zahlung", "payment"),
        "conversion": ("Allgemeine Währungsumrechnung", "conversion"),
        "deposit": ("Bankgutschrift auf PayPal-Konto", "transfer"),
        "unknown": ("Rückbuchung allgemeiner Einbehaltung", "other"),
    },
    "it": {
        "donation": ("Pagamento Express Checkout", "payment"),
        "mobile": ("Pagamento da cellulare", "payment"),
        "subscription": ("Pagamento abbonamento", "payment"),
        "deposit": ("Versamento generico con carta", "transfer"),
    },
    "fr": {
        "donation": ("Paiement sur site marchand", "payment"),
        "express": ("Paiement express", "payment"),
        "subscription": ("Paiement d'abonnement", "payment"),
        "conversion": ("Conversion de devise standard", "conversion"),
        "deposit": ("Virement par carte bancaire standard", "transfer"),
    },
    "es": {"donation": ("Pago estándar", "payment")},
}  # fmt: skip
STATUSES = {
    "en": {"completed": ("Completed", "completed"), "pending": ("Pending", "pending"),
           "denied": ("Denied", "denied"), "refunded": ("Refunded", "refunded"),
           "cancelled": ("Canceled", "cancelled"),
           "partially_refunded": ("Partially Refunded", "partially_refunded")},
    "de": {"completed": ("Abgeschlossen", "completed"), "cancelled": ("Storniert", "cancelled"),
           "pending": ("Ausstehend", "pending")},
    "it": {"completed": ("Completata", "completed")},
    "es": {"completed": ("", "other")},  # no documented status column: the importer says other
    "fr": {"completed": ("", "completed")},
}  # fmt: skip
IMPACTS = {"en": ("Credit", "Debit", "Memo"), "de": ("Haben", "Soll", "Memo"),
           "it": ("Accredito", "Addebito", None)}  # fmt: skip
