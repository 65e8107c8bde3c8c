#!/usr/bin/env bash
# Maintain the UI translations (Finnish is the default locale, English the other).
#
#   scripts/translations.sh extract   # rebuild the templates (.pot) from the source
#   scripts/translations.sh update    # merge new/changed strings into fi and en .po
#   scripts/translations.sh compile   # .po -> .mo (the .mo files are committed)
#   scripts/translations.sh all       # the three above, in order (the default)
#
# Two templates live in crm/translations:
#   messages.pot  the CRM's own strings (babel.cfg: crm/**.py and crm/templates)
#   fab.pot       Flask-AppBuilder's strings (its code and templates). FAB ships no
#                 Finnish, and Flask-Babel has one "messages" domain for both, so
#                 FAB's strings are translated in our catalogs too; ours are loaded
#                 after FAB's and win. Re-extract after upgrading Flask-AppBuilder.
# `update` merges the two templates before `pybabel update`, so the FAB entries are
# kept: do not run `pybabel update -i crm/translations/messages.pot` by hand, that
# would make every FAB entry obsolete. `pybabel update` keeps existing translations;
# changed strings come back marked fuzzy and must be checked (tests/test_i18n.py
# fails on any missing or fuzzy Finnish entry). After translating, run `compile`.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV_BIN="$(cd "${VENV_BIN:-.venv/bin}" && pwd)"
PYBABEL="$VENV_BIN/pybabel"
PYTHON="$VENV_BIN/python"
DIR=crm/translations
LOCALES=(fi en)
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

extract() {
    # pybabel skips dot-directories (.venv, .git); babel.cfg maps only crm/.
    "$PYBABEL" extract -F babel.cfg -k lazy_gettext -k _l --project=crm \
        --ignore-dirs=".* ._ node_modules" -o "$DIR/messages.pot" .

    # FAB's strings, with locations relative to site-packages (flask_appbuilder/...).
    local site_packages fab_version
    fab_version="$("$PYTHON" -c 'import flask_appbuilder as m; print(m.__version__)')"
    site_packages="$("$PYTHON" -c 'import flask_appbuilder as m, os; print(os.path.dirname(os.path.dirname(m.__file__)))')"
    printf '%s\n' '[python: **.py]' '[jinja2: templates/**.html]' \
        'extensions = jinja2.ext.i18n' >"$TMP/fab.cfg"
    (cd "$site_packages" && "$PYBABEL" extract -F "$TMP/fab.cfg" -k lazy_gettext -k _l -k lazy_formatter_gettext \
        --project=flask-appbuilder --version="$fab_version" -o "$ROOT/$DIR/fab.pot" flask_appbuilder)
}

update() {
    local combined="$TMP/combined.pot"
    "$PYTHON" - "$DIR/messages.pot" "$DIR/fab.pot" "$combined" <<'EOF'
import sys

from babel.messages.pofile import read_po, write_po

crm_pot, fab_pot, out = sys.argv[1:]
with open(crm_pot, "rb") as f:
    catalog = read_po(f)
with open(fab_pot, "rb") as f:
    for message in read_po(f):
        if not message.id:
            continue
        if message.id in catalog:
            catalog[message.id].locations.extend(message.locations)
        else:
            catalog[message.id] = message
with open(out, "wb") as f:
    write_po(f, catalog)
EOF
    for locale in "${LOCALES[@]}"; do
        if [[ -f "$DIR/$locale/LC_MESSAGES/messages.po" ]]; then
            "$PYBABEL" update -i "$combined" -d "$DIR" -l "$locale" --previous
        else
            "$PYBABEL" init -i "$combined" -d "$DIR" -l "$locale"
        fi
    done
}

compile() {
    # en has no msgstr on purpose (the msgids are English): its .mo is header-only.
    "$PYBABEL" compile -d "$DIR" --statistics
}

case "${1:-all}" in
    extract) extract ;;
    update) update ;;
    compile) compile ;;
    all) extract; update; compile ;;
    *) echo "usage: $0 [extract|update|compile|all]" >&2; exit 2 ;;
esac
