"""Health words where they are about no one's health, and where they are (DESIGN §2).

Used by the guard's own tests and by the form and import tests, so that each path
is checked with the same examples.
"""

from __future__ import annotations

#: Organisations a B2B register must be able to hold, health words and all.
ORGANISATION_NAMES = ["Helsingin Sairaala Oy", "Syöpäsäätiö", "Diabetesliitto ry",
                      "Mielenterveyden keskusliitto"]

#: Occupations, not anyone's health.
OCCUPATION_TITLES = ["Diabeteshoitaja", "Syöpälääkäri", "Sairaalainsinööri",
                     "Mielenterveyshoitaja", "Sairaalan johtaja", "Medication safety manager",
                     "Cancer researcher", "HIV-hoitaja", "Syöpä- ja diabeteshoitaja"]

#: Titles that name no occupation: a way to record someone's health.
HEALTH_TITLES = ["Masentunut", "Diabetes", "sairaslomalla", "Johtaja, diabetes",
                 "Diabetes, johtaja", "CIO (diagnosed with cancer)"]

#: Free text about a person.
HEALTH_NOTES = ["Matti oli sairaalassa viikon", "hänellä on diabetes", "masentunut"]
