"""The app a server imports: `uvicorn <package>.api.app:app`.

Built here, not in __init__.py, so importing the package (the entry point, the tests)
reads no settings: __main__.py checks them first and says what is wrong in one line.
"""

from . import create_app

app = create_app()
