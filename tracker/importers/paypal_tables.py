"""PayPal's column names, Type/Description strings, statuses and balance impacts.

Every string here is copied from /work/shared/formats/README.md (section 1),
which cites its sources as [S..]/[I..]; the bracket after an entry repeats the
README's source. Nothing is invented for languages the README does not
document: a Spanish activity file's status column, for instance, has no
documented name, so it is not mapped (the line's status is then "other").
Where the README itself infers, the comment says "(inference)". The one
addition not in the README, the German status ``Ausstehend``, comes from the
project brief and says so.

Lookups are by :func:`key`: NFKC, blanks collapsed and stripped, case-folded,
so ``"Bank Deposit to PP Account "`` (trailing space, [S7]) matches.

May import: the standard library and :mod:`tracker.records`.
"""

from __future__ import annotations

import unicodedata
from typing import TypeVar

from tracker.records import LineKind, LineStatus


def key(text: str) -> str:
    """The lookup form of a header name or cell value."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


# --- headers ----------------------------------------------------------------------
# canonical field -> language -> names as PayPal writes them.

HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "date": {"en": ("Date",), "de": ("Datum",), "it": ("Data",), "es": ("Fecha",),
             "fr": ("Date",)},
    "time": {"en": ("Time",), "de": ("Uhrzeit", "Zeit"), "it": ("Orario",), "es": ("Hora",),
             "fr": ("Heure",)},
    # TimeZone (2018+), Time Zone (statement, 2016), Time zone (UK) [S6][S4][S10][S20]
    "timezone": {"en": ("TimeZone", "Time Zone", "Time zone"), "de": ("Zeitzone",),
                 "it": ("Fuso orario",), "es": ("Zona horaria",), "fr": ("Fuseau horaire",)},
    "name": {"en": ("Name",), "de": ("Name",), "it": ("Nome",), "es": ("Nombre",),
             "fr": ("Nom",)},
    "type": {"en": ("Type",), "de": ("Typ",), "it": ("Tipo",), "es": ("Tipo",)},
    "description": {"en": ("Description",), "de": ("Beschreibung",), "es": ("Descripción",),
                    "fr": ("Description",)},
    "status": {"en": ("Status",), "de": ("Status",), "it": ("Stato",)},
    "currency": {"en": ("Currency",), "de": ("Währung",), "it": ("Valuta",), "es": ("Divisa",),
                 "fr": ("Devise",)},
    "gross": {"en": ("Gross",), "de": ("Brutto",), "it": ("Lordo",), "es": ("Bruto",),
              "fr": ("Brut",)},
    # German statements disagree: Gebühr [S1] or Entgelt [I14]; Spanish activity
    # Tarifa, statement Comisión [S1][S4].
    "fee": {"en": ("Fee",), "de": ("Gebühr", "Entgelt"), "it": ("Tariffa",),
            "es": ("Tarifa", "Comisión"), "fr": ("Frais",)},
    "net": {"en": ("Net",), "de": ("Netto",), "it": ("Netto",), "es": ("Neto",), "fr": ("Net",)},
    # The short history variant: one signed Amount, no Gross/Fee/Net [S10][I4].
    "amount": {"en": ("Amount",)},
    "from_email": {"en": ("From Email Address",),
                   "de": ("Absender E-Mail-Adresse", "Von E-Mail-Adresse"),
                   "it": ("Indirizzo email mittente",),
                   "es": ("Correo electrónico del remitente",), "fr": ("De l'adresse email",)},
    "to_email": {"en": ("To Email Address",),
                 "de": ("Empfänger E-Mail-Adresse", "An E-Mail-Adresse"),
                 "it": ("Indirizzo email destinatario",),
                 "es": ("Correo electrónico del destinatario",)},
    # Transactionscode with "c": German 2016/2017 headers [S15].
    "transaction_id": {"en": ("Transaction ID",), "de": ("Transaktionscode", "Transactionscode"),
                       "it": ("Codice transazione",), "es": ("Id. de transacción",),
                       "fr": ("N° de transaction",)},
    "reference_id": {"en": ("Reference Txn ID",),
                     "de": ("Zugehöriger Transaktionscode", "Txn-Referenzkennung"),
                     "it": ("Codice transazione di riferimento",),
                     "es": ("Id. de referencia de trans.",),
                     "fr": ("Numéro de la transaction de référence",)},
    "item_title": {"en": ("Item Title",), "de": ("Artikelbezeichnung",),
                   "it": ("Titolo oggetto",)},
    "subject": {"en": ("Subject",), "de": ("Betreff",), "it": ("Oggetto",), "es": ("Asunto",)},
    "note": {"en": ("Note",), "de": ("Hinweis",), "it": ("Messaggio",), "es": ("Nota",)},
    # Balance, or Available Balance in older files (Gentoo [S18]).
    "balance": {"en": ("Balance", "Available Balance"), "de": ("Guthaben",), "it": ("Saldo",),
                "es": ("Saldo",), "fr": ("Solde",)},
    "balance_impact": {"en": ("Balance Impact",), "de": ("Auswirkung auf Guthaben",),
                       "it": ("Impatto sul saldo",)},
}  # fmt: skip

#: The names used in messages for a missing column (English, as PayPal's docs).
DISPLAY = {field: names["en"][0] for field, names in HEADERS.items()}
DISPLAY["timezone"] = "Time Zone"
LANGUAGES = ("en", "de", "it", "es", "fr")
#: Lookup form of every header name -> the (field, language) pairs it can mean.
ALIASES: dict[str, list[tuple[str, str]]] = {}
for _field, _languages in HEADERS.items():
    for _language, _names in _languages.items():
        for _name in _names:
            ALIASES.setdefault(key(_name), []).append((_field, _language))

# --- Type (activity) and Description (statement) ---------------------------------------

_P, _R, _V, _C = LineKind.PAYMENT, LineKind.REFUND, LineKind.REVERSAL, LineKind.CHARGEBACK
_F, _X, _T, _O = LineKind.FEE, LineKind.CONVERSION, LineKind.TRANSFER, LineKind.PAYOUT
_H, _L, _Z = LineKind.HOLD, LineKind.RELEASE, LineKind.OTHER

TYPES: dict[str, dict[str, LineKind]] = {
    "en": {
        # Payments of every flavour, in or out; the sign of Gross says which
        # [S20][S7][S4][S6][S18][S10].
        "Donation Payment": _P, "Subscription Payment": _P, "General Payment": _P,
        "Website Payment": _P, "Express Checkout Payment": _P,
        "PreApproved Payment Bill User Payment": _P, "Mobile Payment": _P,
        "Payment Received": _P, "Donation Received": _P, "Recurring Payment Received": _P,
        "Payment Processed": _P, "Update to eCheck Received": _P,
        "Update to Bank Transfer Received": _P, "Update to Payment Received": _P,
        "Recurring Payment Sent": _P, "Payment Sent": _P,
        "Canceled Payment": _P, "Cancelled Payment": _P,
        # Refunds, reversals, chargebacks: README 1.5 B, spellings "likely but
        # unconfirmed". Chargeback Settlement is filed as income by Gentoo
        # [S18]; it settles an earlier payment, so it is a chargeback line
        # whose sign says which way the money went.
        "Payment Refund": _R, "Payment Reversal": _V, "Update to Reversal": _V,
        "Chargeback": _C, "Chargeback Reversal": _C, "Chargeback Settlement": _C,
        "Dispute Fee": _F,
        # Currency conversion legs [S4].
        "General Currency Conversion": _X, "User Initiated Currency Conversion": _X,
        # Withdrawals to the group's own bank or card [S4][S18].
        "General Withdrawal": _O, "General Withdrawal - Bank Account": _O,
        "Transfer to Bank Initiated": _O, "Withdraw Funds to Bank Account": _O,
        "General Card Withdrawal": _O,
        # Money in from the group's own bank or card [S7][S13][S10][S6].
        "Bank Deposit to PP Account": _T, "Add Funds from a Bank Account": _T,
        "Charge From Debit Card": _T, "General Card Deposit": _T,
        # Holds and releases, dispute holds included [S4][S18].
        "Payment Hold": _H, "General Hold": _H, "Hold on Balance for Dispute Investigation": _H,
        "Account Hold for Open Authorization": _H, "Temporary Hold": _H,
        "Pending Balance Payment": _H,
        "Payment Release": _L, "General Hold Release": _L,
        "Cancellation of Hold for Dispute Resolution": _L,
        "Reversal of General Account Hold": _L,
        # Authorisations move no money [S18][S20]; see MEMO_TYPES.
        "General Authorization": _Z, "General Authorisation": _Z, "Void of Authorization": _Z,
        # Spending with PayPal's debit card [S18]: classified by a treasurer.
        "General PayPal Debit Card Transaction": _Z,
        # Item lines of a cart payment; the payment line carries the money [S18].
        "Shopping Cart Item": _Z,
    },
    "de": {  # [S14], [S13]
        "Website-Zahlung": _P, "eBay-Auktionszahlung": _P, "PayPal Express-Zahlung": _P,
        "Allgemeine Zahlung": _P, "Handyzahlung": _P,
        # "General credit to credit card": a movement between the group's
        # card and its balance (inference from the name).
        "Allgemeine Gutschrift auf Kreditkarte": _T,
        "Bankgutschrift auf PayPal-Konto": _T,
        "Allgemeine Währungsumrechnung": _X,
        # A money request; [S14] shows it as a Memo line.
        "Anforderung gesendet": _Z,
    },
    "it": {  # [S19]
        "Pagamento preautorizzato utenza": _P, "Pagamento da cellulare": _P,
        "Pagamento abbonamento": _P, "Pagamento Express Checkout": _P,
        "Versamento generico con carta": _T,
    },
    "fr": {  # statement Description [S12]
        "Paiement express": _P, "Paiement préapprouvé d'un utilisateur de facture de paiement": _P,
        "Paiement sur site marchand": _P, "Paiement d'abonnement": _P,
        "Conversion de devise standard": _X,
        "Virement par carte bancaire standard": _T,
    },
    "es": {"Pago estándar": _P},  # statement Description [S4]
}  # fmt: skip

#: Types that never move the balance when the file has no Balance Impact
#: column: authorisations ([S20] shows them as Memo) and cart item lines.
MEMO_TYPES = frozenset(key(t) for t in (
    "General Authorization", "General Authorisation", "Void of Authorization",
    "Shopping Cart Item",
))  # fmt: skip

# --- Status -----------------------------------------------------------------------------

_OK, _PEND = LineStatus.COMPLETED, LineStatus.PENDING
STATUSES: dict[str, dict[str, LineStatus]] = {
    "en": {
        # [S8] activity list, [S23] legacy list, [S18] Gentoo, [S30], [S35], [S36]
        "Completed": _OK, "Cleared": _OK, "Cleared by Payment Review": _OK, "Processed": _OK,
        "Paid": _OK, "Completed On Tab": _OK, "Funds available": _OK,
        "Pending": _PEND, "Uncleared": _PEND, "Pending Verification": _PEND,
        "Pending Until": _PEND, "Processing": _PEND, "In progress": _PEND, "Held": _PEND,
        "On hold": _PEND, "Placed": _PEND, "Waiting for approval": _PEND, "Unclaimed": _PEND,
        "Initiated": _PEND, "Payment pending": _PEND, "Funds not yet available": _PEND,
        "Completed - Funds not yet available": _PEND, "To Be Paid": _PEND,
        "Denied": LineStatus.DENIED,
        "Canceled": LineStatus.CANCELLED, "Cancelled": LineStatus.CANCELLED,
        "Voided": LineStatus.CANCELLED, "Removed": LineStatus.CANCELLED,
        "Failed": LineStatus.FAILED, "Returned": LineStatus.FAILED, "Error": LineStatus.FAILED,
        "Reversed": LineStatus.REVERSED,
        "Refunded": LineStatus.REFUNDED, "Marked as refunded": LineStatus.REFUNDED,
        "Partially Refunded": LineStatus.PARTIALLY_REFUNDED,
    },
    "de": {
        "Abgeschlossen": _OK,  # [S14][I8]
        "Storniert": LineStatus.CANCELLED,  # [S15]
        "Ausstehend": _PEND,  # from the project brief, not in the README
    },
    "it": {"Completata": _OK},  # [S19]
}  # fmt: skip

V = TypeVar("V")

# --- Balance Impact ---------------------------------------------------------------------

#: value -> whether the line moves the balance ([S29]: Memo lines do not).
BALANCE_IMPACTS: dict[str, dict[str, bool]] = {
    "en": {"Credit": True, "Debit": True, "Memo": False},  # [S20][S6][S29]
    "de": {"Haben": True, "Soll": True, "Memo": False},  # [S14]
    "it": {"Accredito": True, "Addebito": True},  # [S19]
}


def _flatten(table: dict[str, dict[str, V]]) -> dict[str, V]:
    merged: dict[str, V] = {}
    for names in table.values():
        for name, value in names.items():
            merged[key(name)] = value
    return merged


TYPE_KINDS = _flatten(TYPES)
STATUS_VALUES = _flatten(STATUSES)
IMPACT_VALUES = _flatten(BALANCE_IMPACTS)
