"""The fixed wording of the public callback form, per language, and its consent text.

The consent text is versioned: a change to its wording needs a new version, added at
the end of `CONSENT_TEXT_VERSIONS` (the earlier ones stay: consents recorded by hand
as given on the form name one of them), and each consent record keeps its version.
"""

from __future__ import annotations

LANGUAGES = ("fi", "en")

#: Every version of the consent text the form has shown, oldest first.
CONSENT_TEXT_VERSIONS = ("2026-11",)
#: The version the form shows now.
CONSENT_TEXT_VERSION = CONSENT_TEXT_VERSIONS[-1]
CONSENT_TEXT = {
    "fi": "Suostun siihen, että {controller} tallentaa antamani tiedot ja ottaa minuun "
          "yhteyttä tämän pyynnön vuoksi. Tietojani käsitellään tietosuojaselosteen mukaisesti, "
          "ja voin perua suostumukseni milloin tahansa.",
    "en": "I agree that {controller} stores the details I give and contacts me about this "
          "request. My details are processed as the privacy notice describes, and I can "
          "withdraw my consent at any time.",
}

TEXT: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Ota yhteyttä",
        "intro": "Haluatko kuulla lisää tai nähdä demon? Jätä soittopyyntö, niin myyntimme "
                 "ottaa sinuun yhteyttä.",
        "name": "Nimi",
        "organisation": "Organisaatio",
        "phone": "Puhelin",
        "email": "Sähköposti",
        "contact_hint": "Anna puhelinnumero tai sähköpostiosoite (tai molemmat).",
        "message": "Viesti",
        "message_hint": "Älä kirjoita viestiin henkilötunnuksia tai terveystietoja.",
        "consent": "Suostumus",
        "consent_required": "Tarvitsemme suostumuksesi, jotta voimme ottaa yhteyttä.",
        "website": "Jätä tämä kenttä tyhjäksi",
        "submit": "Lähetä soittopyyntö",
        "errors": "Tarkista lomake:",
        "expired": "Lomake vanheni tai sitä ei lähetetty tältä sivulta. Mitään ei "
                   "tallennettu; tarkista tiedot ja lähetä lomake uudelleen.",
        "too_many": "Liian monta lähetystä lyhyessä ajassa. Mitään ei tallennettu; "
                    "yritä hetken kuluttua uudelleen.",
        "too_large": "Lomakkeen tiedot olivat liian pitkät. Mitään ei tallennettu; "
                     "lyhennä viestiä ja lähetä lomake uudelleen.",
        "privacy": "Tietosuojaseloste",
        "thanks_title": "Kiitos!",
        "thanks": "Soittopyyntösi on vastaanotettu. Myyntimme ottaa sinuun yhteyttä pian.",
        "back": "Takaisin lomakkeelle",
    },
    "en": {
        "title": "Contact us",
        "intro": "Want to hear more or see a demo? Leave a callback request and our sales "
                 "team will contact you.",
        "name": "Name",
        "organisation": "Organisation",
        "phone": "Phone",
        "email": "Email",
        "contact_hint": "Give a phone number or an email address (or both).",
        "message": "Message",
        "message_hint": "Please do not write identity numbers or health details in the "
                        "message.",
        "consent": "Consent",
        "consent_required": "We need your consent to contact you.",
        "website": "Leave this field empty",
        "submit": "Send the callback request",
        "errors": "Please check the form:",
        "expired": "The form expired or was not sent from this page. Nothing was stored; "
                   "please check the details and send it again.",
        "too_many": "Too many requests in a short time. Nothing was stored; please try "
                    "again in a while.",
        "too_large": "The form's details were too long. Nothing was stored; please "
                     "shorten the message and send it again.",
        "privacy": "Privacy notice",
        "thanks_title": "Thank you!",
        "thanks": "Your callback request has been received. Our sales team will contact you "
                  "soon.",
        "back": "Back to the form",
    },
}
