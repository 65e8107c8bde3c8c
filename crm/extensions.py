"""Extensions, created unbound and bound to an app in `create_app`.

Flask-AppBuilder keeps its views and menu on the `AppBuilder` object itself, so
one is made per application in `create_app` and reached as
`current_app.appbuilder`; sharing a single one between apps would mix their views.
"""

from __future__ import annotations

from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate

db = SQLA()
migrate = Migrate()
