<%!
# The message as docstring text that Python reads back as the message: a backslash
# doubled, a triple quote broken, any other invisible character escaped.
def docstring_text(message):
    text = str(message).replace("\\", "\\\\").replace('"""', '""\\"')
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in text)
%>\
"""${docstring_text(message)}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
# Revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}
# expand: the release before it keeps working (run before the new release starts);
# contract: it takes something away (run once the old release is gone). See
# docs/deploying.md, "Rolling deploys".
% if "phase" in config.attributes:
# Written by autogenerate from the operations.
phase = ${repr(config.attributes["phase"])}
% else:
# Written by hand: say which it is (make check refuses expand for what takes away).
phase = "expand"
% endif


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
