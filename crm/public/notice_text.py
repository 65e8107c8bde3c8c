"""The fixed wording of the public privacy notice, per language; the facts come from data."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm.models import Purpose

TEXT: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Tietosuojaseloste",
        "controller": "Rekisterinpitäjä",
        "register_contact": "Rekisteriasioiden yhteyshenkilö",
        "dpo": "Tietosuojavastaava",
        "register_name": "Rekisterin nimi",
        "purposes": "Henkilötietojen käyttötarkoitukset ja oikeusperuste",
        "purposes_intro": "Rekisteriä käytetään asiakassuhteiden ylläpitoon sekä uusien asiakas- "
                          "ja yhteistyösuhteiden luomiseen. Käsittely perustuu johonkin "
                          "seuraavista:",
        "purposes_list": "Käyttötarkoitukset",
        "categories": "Rekisterin tietosisältö",
        "categories_list": "Nimitiedot|Yhteystiedot: osoite, puhelinnumero, sähköpostiosoite|"
                           "Titteli|Yrityksen yleistietoja|Asiakassuhdetta koskevia tietoja|"
                           "Liiketoimintaamme liittyviä tietoja, kuten yhteydenotot ja tapaamiset",
        "identifiers": "Yksilöivät tunnisteet",
        "identifiers_text": "Evästeet sekä yksilöivät kirjautumis- ja käyttäjätunnukset "
                            "järjestelmissämme ja palveluissamme.",
        "sensitive": "Arkaluonteiset tiedot",
        "sensitive_text": "Rekisteri ei sisällä arkaluonteisia tietoja. Järjestelmä torjuu "
                          "henkilötunnukset, maksukorttien numerot ja terveystiedot.",
        "sources": "Säännönmukaiset tietolähteet",
        "suppliers": "Ostorekisterien toimittajat",
        "recipients": "Tietojen luovutukset ja siirrot",
        "recipients_intro": "Tietoja ei luovuteta säännönmukaisesti muille. Käytämme seuraavia "
                            "vastaanottajia ja käsittelijöitä:",
        "outside_eea": "siirto EU/ETA-alueen ulkopuolelle",
        "safeguard": "Siirron peruste",
        "invalid_safeguard": "EI PÄTEVÄ: EU–US Privacy Shield mitätöitiin EU-tuomioistuimen "
                             "päätöksellä 16.7.2020 (C-311/18). Siirrolle tarvitaan uusi peruste.",
        "security": "Rekisterin suojauksen periaatteet",
        "security_text": "Tietoja käsittelevät vain henkilöt, joiden tehtävät sitä edellyttävät, "
                         "ja vain siinä laajuudessa. Käyttöoikeudet määräytyvät roolin mukaan "
                         "kenttätasolle asti, kirjautuminen tapahtuu henkilökohtaisilla "
                         "tunnuksilla ja yhteydet salataan. Lokiin kirjataan kirjautumiset, "
                         "yksittäisen henkilön tietojen avaaminen sekä tietojen muutokset ja "
                         "viennit. Käsittelijöitä sitoo vaitiolovelvollisuus.",
        "roles": "Roolit, joilla on pääsy tietoihin",
        "retention": "Tietojen säilyttäminen",
        "retention_intro": "Tarpeettomat, vanhentuneet ja perusteettomat tiedot anonymisoidaan "
                           "tai poistetaan automaattisesti seuraavasti:",
        "months": "kk",
        "anonymise": "anonymisoidaan",
        "delete": "poistetaan",
        "rights": "Rekisteröidyn oikeudet",
        "rights_text": "Sinulla on oikeus tarkastaa tietosi, vaatia virheellisen tiedon "
                       "oikaisemista ja tietojesi poistamista, vastustaa suoramarkkinointia ja "
                       "perua suostumuksesi milloin tahansa. Pyynnöt osoitetaan kirjallisesti "
                       "rekisteriasioiden yhteyshenkilölle; vastaamme kuukauden kuluessa.",
        "authority": "Voit tehdä valituksen valvontaviranomaiselle: Tietosuojavaltuutetun "
                     "toimisto, PL 800, 00531 Helsinki, tietosuoja.fi.",
        "profiling": "Profilointi",
        "profiling_text": "Rekisterissä ei tehdä automaattista päätöksentekoa eikä profilointia.",
        "contact": "Ota yhteyttä",
        "contact_text": "Haluatko kuulla lisää tai nähdä demon? Jätä soittopyyntö.",
    },
    "en": {
        "title": "Privacy notice",
        "controller": "Controller",
        "register_contact": "Contact for register matters",
        "dpo": "Data protection officer",
        "register_name": "Name of the register",
        "purposes": "Purposes and legal basis of processing",
        "purposes_intro": "The register is used to maintain customer relationships and to "
                          "create new customer and partner relationships. Processing rests on "
                          "one of the following:",
        "purposes_list": "Purposes",
        "categories": "Categories of personal data",
        "categories_list": "Names|Contact details: address, phone number, email address|Title|"
                           "General information on the company|Information on the customer "
                           "relationship|Information related to our business, such as contacts "
                           "and meetings",
        "identifiers": "Unique identifiers",
        "identifiers_text": "Cookies and unique login and user identifiers in our systems and "
                            "services.",
        "sensitive": "Sensitive data",
        "sensitive_text": "The register holds no sensitive data. The system refuses personal "
                          "identity codes, payment card numbers and health information.",
        "sources": "Regular sources of data",
        "suppliers": "Suppliers of purchased lists",
        "recipients": "Disclosures and transfers",
        "recipients_intro": "Data is not disclosed regularly. We use the following recipients "
                            "and processors:",
        "outside_eea": "transfer outside the EU/EEA",
        "safeguard": "Transfer safeguard",
        "invalid_safeguard": "NOT VALID: the EU–US Privacy Shield was invalidated by the Court "
                             "of Justice of the EU on 16 July 2020 (C-311/18). The transfer "
                             "needs another safeguard.",
        "security": "How the register is protected",
        "security_text": "Only people whose tasks require it process the data, and only to that "
                         "extent. Access rights follow each role down to single fields, "
                         "sign-in uses personal accounts and connections are encrypted. "
                         "Sign-ins, the opening of a single person's record, and changes to "
                         "and exports of the data are logged. Everyone processing the data is "
                         "bound by confidentiality.",
        "roles": "Roles with access to the data",
        "retention": "Retention",
        "retention_intro": "Data that is no longer needed, outdated or without a legal basis is "
                           "anonymised or deleted automatically:",
        "months": "months",
        "anonymise": "anonymised",
        "delete": "deleted",
        "rights": "Your rights",
        "rights_text": "You have the right to access your data, to have wrong data corrected "
                       "and your data erased, to object to direct marketing and to withdraw "
                       "your consent at any time. Send requests in writing to the contact for "
                       "register matters; we answer within one month.",
        "authority": "You may lodge a complaint with the supervisory authority: the Office of "
                     "the Data Protection Ombudsman, P.O. Box 800, FI-00531 Helsinki, "
                     "tietosuoja.fi.",
        "profiling": "Profiling",
        "profiling_text": "No automated decision-making or profiling takes place.",
        "contact": "Contact us",
        "contact_text": "Want to hear more or see a demo? Leave a callback request.",
    },
    "sv": {
        "title": "Dataskyddsbeskrivning",
        "controller": "Personuppgiftsansvarig",
        "register_contact": "Kontaktperson i registerärenden",
        "dpo": "Dataskyddsombud",
        "register_name": "Registrets namn",
        "purposes": "Ändamål och rättslig grund för behandlingen",
        "purposes_intro": "Registret används för att upprätthålla kundrelationer och skapa nya "
                          "kund- och samarbetsrelationer. Behandlingen grundar sig på något av "
                          "följande:",
        "purposes_list": "Ändamål",
        "categories": "Registrets datainnehåll",
        "categories_list": "Namn|Kontaktuppgifter: adress, telefonnummer, e-postadress|Titel|"
                           "Allmänna uppgifter om företaget|Uppgifter om kundrelationen|"
                           "Uppgifter om vår affärsverksamhet, såsom kontakter och möten",
        "identifiers": "Unika identifierare",
        "identifiers_text": "Kakor samt unika inloggnings- och användar-ID i våra system och "
                            "tjänster.",
        "sensitive": "Känsliga uppgifter",
        "sensitive_text": "Registret innehåller inga känsliga uppgifter. Systemet avvisar "
                          "personbeteckningar, betalkortsnummer och hälsouppgifter.",
        "sources": "Regelbundna uppgiftskällor",
        "suppliers": "Leverantörer av köpta register",
        "recipients": "Utlämnanden och överföringar",
        "recipients_intro": "Uppgifter lämnas inte ut regelbundet. Vi använder följande "
                            "mottagare och personuppgiftsbiträden:",
        "outside_eea": "överföring utanför EU/EES",
        "safeguard": "Skyddsåtgärd för överföringen",
        "invalid_safeguard": "INTE GILTIG: EU–US Privacy Shield ogiltigförklarades av "
                             "EU-domstolen den 16 juli 2020 (C-311/18).",
        "security": "Principer för skyddet av registret",
        "security_text": "Endast personer vars uppgifter kräver det behandlar uppgifterna. "
                         "Åtkomsten följer rollen ned till enskilda fält, inloggning sker med "
                         "personliga konton och förbindelserna är krypterade. Inloggningar, "
                         "öppnandet av en enskild persons uppgifter samt ändringar och "
                         "exporter av uppgifterna loggas.",
        "roles": "Roller med åtkomst till uppgifterna",
        "retention": "Lagring",
        "retention_intro": "Uppgifter som inte längre behövs anonymiseras eller raderas "
                           "automatiskt:",
        "months": "mån",
        "anonymise": "anonymiseras",
        "delete": "raderas",
        "rights": "Dina rättigheter",
        "rights_text": "Du har rätt att få tillgång till dina uppgifter, få felaktiga uppgifter "
                       "rättade och dina uppgifter raderade, invända mot direktmarknadsföring "
                       "och återkalla ditt samtycke. Skicka begäran skriftligt till "
                       "kontaktpersonen; vi svarar inom en månad.",
        "authority": "Du kan lämna in klagomål till tillsynsmyndigheten: Dataombudsmannens "
                     "byrå, PB 800, 00531 Helsingfors, tietosuoja.fi.",
        "profiling": "Profilering",
        "profiling_text": "Ingen automatiserad beslutsfattning eller profilering förekommer.",
        "contact": "Kontakta oss",
        "contact_text": "Vill du höra mer eller se en demo? Lämna en begäran om att bli "
                        "uppringd.",
    },
}

#: Labels of the data's own enums in the public notice, per language.
LABELS: dict[str, dict[str, str]] = {
    "fi": {"position": "Henkilön asema kohdeyrityksessä (oikeutettu etu)",
           "consent": "Henkilön antama suostumus", "contract": "Solmittu asiakassopimus",
           "own_activity": "Oma toimintamme", "the_person": "Rekisteröity itse",
           "purchased_list": "Luovutukset muista rekistereistä, kuten ostorekisterit",
           "processor": "käsittelijä", "recipient": "vastaanottaja",
           "within_eea": "ei siirtoa EU/ETA-alueen ulkopuolelle",
           "adequacy": "komission tietosuojan riittävyyspäätös",
           "dpf": "EU–US Data Privacy Framework -sertifiointi",
           "scc": "komission vakiosopimuslausekkeet", "bcr": "yritystä koskevat sitovat säännöt",
           "privacy_shield": "EU–US Privacy Shield",
           "prospect_contact": "Potentiaalisten asiakkaiden yhteyshenkilöt viimeisestä "
                               "yhteydenotosta",
           "former_customer_contact": "Entisten asiakkaiden yhteyshenkilöt asiakassuhteen "
                                      "päättymisestä",
           "callback_request": "Soittopyynnöt, jotka eivät johtaneet asiakassuhteeseen",
           "audit_event": "Lokitiedot", "job_run": "Eräajojen tiedot"},
    "en": {"position": "The person's position in the target company (legitimate interest)",
           "consent": "The person's consent", "contract": "A customer contract",
           "own_activity": "Our own activity", "the_person": "The person themselves",
           "purchased_list": "Disclosures from other registers, such as purchased lists",
           "processor": "processor", "recipient": "recipient",
           "within_eea": "no transfer outside the EU/EEA", "adequacy": "adequacy decision",
           "dpf": "EU–US Data Privacy Framework certification",
           "scc": "standard contractual clauses", "bcr": "binding corporate rules",
           "privacy_shield": "EU–US Privacy Shield",
           "prospect_contact": "Contact persons of prospects, from the last contact",
           "former_customer_contact": "Contact persons of former customers, from the end of "
                                      "the relationship",
           "callback_request": "Callback requests that led nowhere",
           "audit_event": "Audit trail", "job_run": "Records of scheduled jobs"},
    "sv": {"position": "Personens ställning i målföretaget (berättigat intresse)",
           "consent": "Personens samtycke", "contract": "Ett kundavtal",
           "own_activity": "Vår egen verksamhet", "the_person": "Den registrerade själv",
           "purchased_list": "Utlämnanden från andra register, såsom köpta register",
           "processor": "personuppgiftsbiträde", "recipient": "mottagare",
           "within_eea": "ingen överföring utanför EU/EES", "adequacy": "beslut om adekvat skydd",
           "dpf": "EU–US Data Privacy Framework", "scc": "standardavtalsklausuler",
           "bcr": "bindande företagsbestämmelser", "privacy_shield": "EU–US Privacy Shield",
           "prospect_contact": "Kontaktpersoner hos potentiella kunder, från senaste kontakten",
           "former_customer_contact": "Kontaktpersoner hos tidigare kunder, från "
                                      "kundrelationens slut",
           "callback_request": "Uppringningsbegäranden som inte ledde till något",
           "audit_event": "Loggar", "job_run": "Uppgifter om schemalagda jobb"},
}

#: The purposes' names in Swedish, by code; the register keeps only Finnish and English
#: names. A purpose added later without one here is shown by its English name.
PURPOSE_NAMES_SV = {
    "customer_relationship": "Skötsel av kundrelationen",
    "new_business": "Skapande av nya kund- och samarbetsrelationer",
    "direct_marketing": "Direktmarknadsföring och andra adresserade utskick",
    "customer_support": "Kundsupport",
    "invoicing": "Fakturering",
}


def purpose_name(purpose: Purpose, lang: str) -> str:
    """Return a purpose's name in `lang` (fi, en or sv)."""
    if lang == "fi":
        return purpose.name_fi
    if lang == "sv":
        return PURPOSE_NAMES_SV.get(purpose.code, purpose.name_en)
    return purpose.name_en
