"""The app a server imports: `uvicorn <package>.api.app:app`.

Built here, not in __init__.py, so importing the package (the entry point, the tests)
reads no settings: __main__.py checks them first and says what is wrong in one line.
"""

import sys

from ..settings import SettingError
from . import create_app

try:
    app = create_app()
except SettingError as exc:
    # A setting broken after the server started (a reload of `make run` while
    # head.txt holds a merge conflict, say): one line, as __main__.py says it, not a
    # traceback; the reloader starts the app again once the file is fixed.
    sys.exit(f"Cannot start the API: {exc}")
